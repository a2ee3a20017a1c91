// Fedify as an independent ActivityPub peer against a running `cohort serve` (run by run.sh).
//
// Fedify is a JSON-LD + HTTP Signatures implementation Cohort's authors did not write: it
// compacts and expands documents through JSON-LD, double-knocks (RFC 9421 first, then
// draft-cavage) and signs activities with Object Integrity Proofs as well. The peer serves
// its own actor `fedi` (RSA and Ed25519 keys) on another loopback port; its notes answer
// signed fetches only. Through Fedify's own API and Cohort's Mastodon client API it checks:
//
//   - discovery: WebFinger and actor lookup of a Cohort account (a Person whose publicKey
//     Fedify can read), a signed fetch of a status (and the same fetch unsigned refused),
//     NodeInfo 2.1, the instance actor, the outbox and followers collections;
//   - the peer follows a Cohort account: the Accept comes back, then the account's public
//     and followers-only posts arrive as Create(Note); a locked account's Reject and Accept;
//   - a Cohort account follows the peer (WebFinger from Cohort's side, Follow, Accept);
//   - what the peer sends is applied: Create(Note) (mention, reply, hashtag and content
//     warning, followers-only, direct, object by IRI), Announce of a post Cohort fetches
//     from the peer, Like, EmojiReact, Announce, Update(Note), Update(Person), Block, the
//     Undos, Delete(Note) and Delete(Person);
//   - what Cohort sends arrives and verifies at the peer: Like, Announce, a reply, Delete,
//     Block and their Undos, Undo(Follow).
//
// Environment: COHORT_URL (http://localhost:PORT of the Cohort server), PEER_PORT (a free
// loopback port for this peer). Prints one line per check ("PASS name" / "FAIL name: why")
// and last "interop-counts: PASSED FAILED"; exits 1 when a check failed.

import http from "node:http";
import { randomUUID } from "node:crypto";
import {
  createFederation,
  generateCryptoKeyPair,
  MemoryKvStore,
  parseNodeInfo,
} from "@fedify/fedify";
import {
  Accept,
  Announce,
  Application,
  Block,
  Collection,
  Create,
  Delete,
  EmojiReact,
  Endpoints,
  Follow,
  Hashtag,
  Like,
  Mention,
  Note,
  OrderedCollection,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Tombstone,
  Undo,
  Update,
} from "@fedify/fedify/vocab";

const COHORT_URL = new URL(process.env.COHORT_URL ?? "");
const COHORT_HOST = COHORT_URL.host; // localhost:PORT
const PEER_PORT = Number(process.env.PEER_PORT ?? "0");
const PEER_ORIGIN = `http://localhost:${PEER_PORT}`;
const PEER_NAME = "fedi";
/** The peer actor's display name; the Update(Person) check changes it. */
let peerDisplayName = "Fedify interop peer";
/** How long to wait for something to arrive or be applied (deliveries are asynchronous). */
const WAIT_MS = Number(process.env.INTEROP_WAIT_MS ?? "30000");

// WebFinger by `acct:` always uses https in Fedify (as the spec says). The test servers
// speak plain HTTP on loopback, so WebFinger requests to Cohort's host are sent over http:
// this stands in for the TLS terminator of a real deployment and touches nothing else.
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.protocol === "https:" && url.host === COHORT_HOST && url.pathname === "/.well-known/webfinger") {
    url.protocol = "http:";
    return realFetch(url, init);
  }
  return realFetch(input, init);
};

// ---------------------------------------------------------------------------------------
// Checks

let passed = 0;
let failed = 0;

function pass(name) {
  passed += 1;
  console.log(`PASS ${name}`);
}

function fail(name, why) {
  failed += 1;
  console.log(`FAIL ${name}: ${why}`);
}

/** Runs one check: it passes when `fn` returns without throwing. */
async function check(name, fn) {
  try {
    await fn();
    pass(name);
    return true;
  } catch (e) {
    fail(name, e?.message ?? String(e));
    return false;
  }
}

function expect(condition, why) {
  if (!condition) throw new Error(why);
}

/** Polls `fn` until it returns a truthy value (returned) or WAIT_MS passes (throws `why`). */
async function waitFor(why, fn) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${why} (not within ${WAIT_MS} ms${last ? `; last error: ${last.message}` : ""})`);
}

// ---------------------------------------------------------------------------------------
// Cohort's Mastodon client API

async function api(method, path, token, body) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await realFetch(new URL(path, COHORT_URL), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (e.g. an empty body)
  }
  return { status: res.status, json, text };
}

async function apiOk(method, path, token, body) {
  const r = await api(method, path, token, body);
  if (r.status < 200 || r.status > 299) {
    throw new Error(`${method} ${path} answered ${r.status}: ${r.text.slice(0, 200)}`);
  }
  return r.json;
}

/** Signs an account up through the API (open registrations); returns its access token. */
async function signUp(username) {
  const app = await apiOk("POST", "/api/v1/apps", null, {
    client_name: "cohort-interop",
    redirect_uris: "urn:ietf:wg:oauth:2.0:oob",
    scopes: "read write follow",
  });
  const appToken = await apiOk("POST", "/oauth/token", null, {
    grant_type: "client_credentials",
    client_id: app.client_id,
    client_secret: app.client_secret,
    scope: "read write follow",
  });
  const user = await apiOk("POST", "/api/v1/accounts", appToken.access_token, {
    username,
    email: `${username}@example.org`,
    password: `interop-${randomUUID()}`,
    agreement: true,
    locale: "en",
  });
  return user.access_token;
}

// ---------------------------------------------------------------------------------------
// The Fedify peer

/** Everything that arrived in the peer's inboxes, as expanded-then-compacted JSON-LD. */
const received = [];
/** Followers of the peer's actor (Cohort accounts that followed it). */
const followers = new Map();
/** Notes the peer published, served at /notes/{id}. */
const notes = new Map();

const keyPairs = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];

const federation = createFederation({
  kv: new MemoryKvStore(),
  // The test network is loopback only.
  allowPrivateAddress: true,
});

/** The peer's actor document. */
async function peerActor(ctx) {
  const identifier = PEER_NAME;
  const keys = await ctx.getActorKeyPairs(identifier);
  return new Person({
    id: ctx.getActorUri(identifier),
    preferredUsername: identifier,
    name: peerDisplayName,
    summary: "An independent ActivityPub implementation used by Cohort's interop checks.",
    inbox: ctx.getInboxUri(identifier),
    endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
    followers: ctx.getFollowersUri(identifier),
    url: ctx.getActorUri(identifier),
    publicKey: keys[0].cryptographicKey,
    assertionMethods: keys.map((k) => k.multikey),
  });
}

federation
  .setActorDispatcher("/users/{identifier}", (ctx, identifier) =>
    identifier === PEER_NAME ? peerActor(ctx) : null,
  )
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === PEER_NAME ? keyPairs : []));

federation.setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
  if (identifier !== PEER_NAME) return null;
  return { items: [...followers.values()] };
});

/** Actors whose verified signature fetched one of the peer's notes. */
const signedNoteFetchers = [];

// The peer's notes need a signed fetch (authorized fetch, as on Mastodon with secure mode):
// Cohort's fetches must carry a draft-cavage signature that Fedify verifies.
federation
  .setObjectDispatcher(Note, "/notes/{id}", (_ctx, { id }) => notes.get(id) ?? null)
  .authorize(async (ctx) => {
    const owner = await ctx.getSignedKeyOwner();
    if (owner?.id == null) return false;
    signedNoteFetchers.push(owner.id.href);
    return true;
  });

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    await record(ctx, follow);
    const parsed = follow.objectId && ctx.parseUri(follow.objectId);
    if (parsed?.type !== "actor" || parsed.identifier !== PEER_NAME) return;
    const follower = await follow.getActor(ctx);
    if (follower?.id == null) return;
    followers.set(follower.id.href, follower);
    await ctx.sendActivity(
      { identifier: PEER_NAME },
      follower,
      new Accept({
        id: new URL(`${PEER_ORIGIN}/activities/${randomUUID()}`),
        actor: ctx.getActorUri(PEER_NAME),
        object: follow,
      }),
    );
  })
  .on(Accept, record)
  .on(Reject, record)
  .on(Like, record)
  .on(Announce, record)
  .on(Block, record)
  .on(Create, record)
  .on(Update, record)
  .on(Delete, record)
  .on(Undo, async (ctx, undo) => {
    await record(ctx, undo);
    const inner = await undo.getObject(ctx);
    if (inner instanceof Follow && undo.actorId) followers.delete(undo.actorId.href);
  })
  .onError((_ctx, error) => console.log(`# peer inbox error: ${error?.message ?? error}`));

async function record(_ctx, activity) {
  received.push({ activity, json: await activity.toJsonLd({ format: "compact" }) });
}

/** Serves the federation on node:http (Fedify speaks the Fetch API's Request/Response). */
function serve(port) {
  const server = http.createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method,
        headers: Object.entries(req.headers).flatMap(([k, v]) =>
          Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]],
        ),
        body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
      });
      const response = await federation.fetch(request, { contextData: undefined });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(e));
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

// ---------------------------------------------------------------------------------------
// The scenario

const server = await serve(PEER_PORT);
const ctx = federation.createContext(new URL(PEER_ORIGIN), undefined);
const peerActorUri = ctx.getActorUri(PEER_NAME);
const signedLoader = await ctx.getDocumentLoader({ identifier: PEER_NAME });
const newId = (kind) => new URL(`${PEER_ORIGIN}/${kind}/${randomUUID()}`);

let aliceToken;
let aliceActor;
let alicePost; // a public status of alice's (Mastodon API entity)

const ready = await check("setup: sign up a Cohort account and post through the client API", async () => {
  aliceToken = await signUp("alice");
  alicePost = await apiOk("POST", "/api/v1/statuses", aliceToken, {
    status: "A public post for the Fedify peer",
    visibility: "public",
  });
});

if (ready) {
  await runScenario();
}

async function runScenario() {
  const aliceUri = `${COHORT_URL.origin}/users/alice`;

  await check("fedify: WebFinger acct:alice@host finds the actor", async () => {
    const jrd = await ctx.lookupWebFinger(`acct:alice@${COHORT_HOST}`);
    expect(jrd, "no JRD");
    expect(jrd.subject === `acct:alice@${COHORT_HOST}`, `subject is ${jrd.subject}`);
    const self = jrd.links?.find((l) => l.rel === "self" && /activity\+json|ld\+json/.test(l.type ?? ""));
    expect(self?.href === aliceUri, `self link is ${self?.href}`);
  });

  await check("fedify: looks up @alice@host as a Person with a usable public key", async () => {
    aliceActor = await ctx.lookupObject(`@alice@${COHORT_HOST}`, { documentLoader: signedLoader });
    expect(aliceActor instanceof Person, `got ${aliceActor?.constructor?.name ?? aliceActor}`);
    expect(aliceActor.id?.href === aliceUri, `id is ${aliceActor.id?.href}`);
    expect(aliceActor.preferredUsername?.toString() === "alice", "preferredUsername");
    expect(aliceActor.inboxId?.href === `${aliceUri}/inbox`, `inbox is ${aliceActor.inboxId?.href}`);
    expect(aliceActor.endpoints?.sharedInbox?.href === `${COHORT_URL.origin}/inbox`, "sharedInbox");
    // Fedify reads publicKey only through the security context (JSON-LD).
    const key = await aliceActor.getPublicKey({ documentLoader: signedLoader });
    expect(key?.ownerId?.href === aliceUri, `publicKey owner is ${key?.ownerId?.href}`);
    expect(key?.publicKey, "publicKey has no usable key material");
  });

  await check("fedify: an unsigned fetch of a status is refused (authorized fetch)", async () => {
    const res = await realFetch(alicePost.uri, { headers: { Accept: "application/activity+json" } });
    expect(res.status === 401, `answered ${res.status}`);
  });

  await check("fedify: a signed fetch of a status returns the Note", async () => {
    const note = await ctx.lookupObject(alicePost.uri, { documentLoader: signedLoader });
    expect(note instanceof Note, `got ${note?.constructor?.name ?? note}`);
    expect(note.id?.href === alicePost.uri, `id is ${note.id?.href}`);
    expect(note.attributionId?.href === aliceUri, `attributedTo is ${note.attributionId?.href}`);
    expect(String(note.content ?? "").includes("A public post for the Fedify peer"), `content is ${note.content}`);
    expect(note.toIds.some((u) => u.href === PUBLIC_COLLECTION.href), "not addressed to Public");
  });

  if (!(aliceActor instanceof Person)) {
    fail("fedify: the remaining checks", "skipped: the Cohort actor could not be looked up");
    return;
  }

  await check("fedify: NodeInfo 2.1 parses strictly", async () => {
    // Fedify's getNodeInfo() refuses loopback addresses outright; fetch, then parse with it.
    const links = await (await realFetch(new URL("/.well-known/nodeinfo", COHORT_URL))).json();
    const link = links.links?.find((l) => l.rel === "http://nodeinfo.diaspora.software/ns/schema/2.1");
    expect(link?.href, `links are ${JSON.stringify(links)}`);
    const doc = await (await realFetch(link.href, { headers: { Accept: "application/json" } })).json();
    const info = parseNodeInfo(doc);
    expect(info, `does not parse strictly: ${JSON.stringify(doc)}`);
    expect(info.software.name === "cohort", `software.name is ${info.software.name}`);
    expect(info.protocols.includes("activitypub"), `protocols are ${info.protocols}`);
  });

  await check("fedify: the instance actor (acct:host@host) is an Application, fetched unsigned", async () => {
    const jrd = await ctx.lookupWebFinger(`acct:${COHORT_HOST}@${COHORT_HOST}`);
    const self = jrd?.links?.find((l) => l.rel === "self");
    expect(self?.href, `JRD is ${JSON.stringify(jrd)}`);
    // The context's own loader does not sign.
    const actor = await ctx.lookupObject(self.href);
    expect(actor instanceof Application, `got ${actor?.constructor?.name ?? actor}`);
    const key = await actor.getPublicKey();
    expect(key?.ownerId?.href === actor.id?.href && key.publicKey, "no usable public key");
  });

  await check("fedify: the outbox and followers collections (signed) have totalItems", async () => {
    const outbox = await aliceActor.getOutbox({ documentLoader: signedLoader });
    expect(outbox instanceof OrderedCollection || outbox instanceof Collection, `outbox is ${outbox?.constructor?.name}`);
    expect(outbox.totalItems >= 1, `outbox totalItems is ${outbox.totalItems}`);
    const fol = await aliceActor.getFollowers({ documentLoader: signedLoader });
    expect(fol instanceof OrderedCollection || fol instanceof Collection, `followers is ${fol?.constructor?.name}`);
    expect(fol.totalItems === 0, `followers totalItems is ${fol.totalItems}`);
  });

  // -- The peer follows alice and receives her posts. --
  const follow = new Follow({ id: newId("follows"), actor: peerActorUri, object: aliceActor.id });
  await check("fedify: Follow of a Cohort account is accepted", async () => {
    await ctx.sendActivity({ identifier: PEER_NAME }, aliceActor, follow);
    await waitFor("no Accept of the Follow arrived", () =>
      received.find(
        ({ activity }) =>
          activity instanceof Accept &&
          activity.actorId?.href === aliceUri &&
          (activity.objectId?.href === follow.id.href),
      ),
    );
    const account = await apiOk("GET", `/api/v1/accounts/verify_credentials`, aliceToken);
    const list = await apiOk("GET", `/api/v1/accounts/${account.id}/followers`, aliceToken);
    expect(
      list.some((a) => a.acct === `${PEER_NAME}@localhost:${PEER_PORT}`),
      `followers are ${JSON.stringify(list.map((a) => a.acct))}`,
    );
  });

  const createdBy = (uri) =>
    received.find(({ activity }) => activity instanceof Create && activity.objectId?.href === uri);

  await check("fedify: a new public post of the followed account arrives as Create(Note)", async () => {
    const post = await apiOk("POST", "/api/v1/statuses", aliceToken, {
      status: "Posted after the Fedify peer followed",
      visibility: "public",
    });
    const got = await waitFor("no Create arrived", () => createdBy(post.uri));
    const note = await got.activity.getObject({ documentLoader: signedLoader });
    expect(note instanceof Note, `object is ${note?.constructor?.name}`);
    expect(String(note.content).includes("Posted after the Fedify peer followed"), `content is ${note.content}`);
    expect(got.activity.actorId?.href === aliceUri, "actor is not alice");
  });

  await check("fedify: a followers-only post reaches the follower, addressed to it", async () => {
    const post = await apiOk("POST", "/api/v1/statuses", aliceToken, {
      status: "Only for my followers",
      visibility: "private",
    });
    const got = await waitFor("no Create arrived", () => createdBy(post.uri));
    const note = await got.activity.getObject({ documentLoader: signedLoader });
    const audience = [...note.toIds, ...note.ccIds].map((u) => u.href);
    expect(!audience.includes(PUBLIC_COLLECTION.href), "a followers-only post is addressed to Public");
    expect(audience.includes(peerActorUri.href), `addressed to ${JSON.stringify(audience)}`);
  });

  // -- alice follows the peer (Cohort resolves it by WebFinger and sends Follow). --
  let peerAccount;
  await check("fedify: a Cohort account follows the peer and sees the Accept", async () => {
    const found = await apiOk(
      "GET",
      `/api/v2/search?q=${encodeURIComponent(`@${PEER_NAME}@localhost:${PEER_PORT}`)}&resolve=true&type=accounts`,
      aliceToken,
    );
    peerAccount = found.accounts?.[0];
    expect(peerAccount, `search found ${JSON.stringify(found)}`);
    expect(peerAccount.acct === `${PEER_NAME}@localhost:${PEER_PORT}`, `acct is ${peerAccount.acct}`);
    await apiOk("POST", `/api/v1/accounts/${peerAccount.id}/follow`, aliceToken);
    await waitFor("the relationship never became following", async () => {
      const rel = await apiOk("GET", `/api/v1/accounts/relationships?id[]=${peerAccount.id}`, aliceToken);
      return rel[0]?.following === true;
    });
    expect(followers.has(aliceUri), "the peer did not record the follower");
  });

  // -- The peer sends activities to Cohort, each checked as applied. --
  const toAlice = aliceActor;
  const send = (activity) => ctx.sendActivity({ identifier: PEER_NAME }, toAlice, activity);
  const noteId = `n${randomUUID()}`;
  const noteUri = new URL(`${PEER_ORIGIN}/notes/${noteId}`);
  const mentionHtml = `<span class="h-card"><a href="${aliceUri}" class="u-url mention">@alice</a></span>`;
  const makeNote = (text) =>
    new Note({
      id: noteUri,
      attribution: peerActorUri,
      to: PUBLIC_COLLECTION,
      ccs: [ctx.getFollowersUri(PEER_NAME), aliceActor.id],
      content: `<p>${mentionHtml} ${text}</p>`,
      tags: [new Mention({ href: aliceActor.id, name: `@alice@${COHORT_HOST}` })],
    });
  notes.set(noteId, makeNote("Hello from Fedify"));

  let remoteStatus;
  await check("fedify: Create(Note) mentioning a Cohort account is applied (mention notification)", async () => {
    await send(
      new Create({
        id: newId("creates"),
        actor: peerActorUri,
        object: notes.get(noteId),
        to: PUBLIC_COLLECTION,
        ccs: [ctx.getFollowersUri(PEER_NAME), aliceActor.id],
      }),
    );
    const notification = await waitFor("no mention notification", async () => {
      const list = await apiOk("GET", "/api/v1/notifications?types[]=mention", aliceToken);
      return list.find((n) => n.status?.uri === noteUri.href);
    });
    remoteStatus = notification.status;
    expect(notification.account.acct === `${PEER_NAME}@localhost:${PEER_PORT}`, `from ${notification.account.acct}`);
    expect(remoteStatus.content.includes("Hello from Fedify"), `content is ${remoteStatus.content}`);
    expect(remoteStatus.visibility === "public", `visibility is ${remoteStatus.visibility}`);
  });

  await check("fedify: the followed peer's post is on the Cohort account's home timeline", async () => {
    expect(remoteStatus, "no status from the previous check");
    await waitFor("not on the home timeline", async () => {
      const home = await apiOk("GET", "/api/v1/timelines/home", aliceToken);
      return home.some((s) => s.uri === noteUri.href);
    });
  });

  const peerAcct = `${PEER_NAME}@localhost:${PEER_PORT}`;
  const peerNote = (fields) => {
    const id = `n${randomUUID()}`;
    const note = new Note({ id: new URL(`${PEER_ORIGIN}/notes/${id}`), attribution: peerActorUri, ...fields });
    notes.set(id, note);
    return note;
  };
  const createOf = (note) =>
    new Create({ id: newId("creates"), actor: peerActorUri, object: note, tos: note.toIds, ccs: note.ccIds });
  const homeHas = (uri) => async () => {
    const home = await apiOk("GET", "/api/v1/timelines/home", aliceToken);
    return home.find((s) => s.uri === uri);
  };

  await check("fedify: a reply (inReplyTo, no mention) via the shared inbox is threaded under the Cohort post", async () => {
    const reply = peerNote({
      to: PUBLIC_COLLECTION,
      ccs: [ctx.getFollowersUri(PEER_NAME)],
      content: "<p>A reply from Fedify without a mention</p>",
      replyTarget: new URL(alicePost.uri),
    });
    await ctx.sendActivity({ identifier: PEER_NAME }, aliceActor, createOf(reply), { preferSharedInbox: true });
    await waitFor("the reply is not in the post's context", async () => {
      const context = await apiOk("GET", `/api/v1/statuses/${alicePost.id}/context`, aliceToken);
      return context.descendants.some((s) => s.uri === reply.id.href && s.in_reply_to_id === alicePost.id);
    });
  });

  await check("fedify: a Hashtag tag puts the post on the tag timeline; summary becomes its content warning", async () => {
    const note = peerNote({
      to: PUBLIC_COLLECTION,
      ccs: [ctx.getFollowersUri(PEER_NAME)],
      summary: "Interop content warning",
      sensitive: true,
      content: '<p>Tagged <a href="http://localhost/tags/fedifyinterop" rel="tag">#<span>FedifyInterop</span></a></p>',
      tags: [new Hashtag({ href: new URL(`${PEER_ORIGIN}/tags/fedifyinterop`), name: "#FedifyInterop" })],
    });
    await send(createOf(note));
    const status = await waitFor("not on the home timeline", homeHas(note.id.href));
    expect(status.spoiler_text === "Interop content warning", `spoiler_text is ${status.spoiler_text}`);
    expect(status.sensitive === true, "not sensitive");
    const tagged = await apiOk("GET", "/api/v1/timelines/tag/fedifyinterop", aliceToken);
    expect(tagged.some((s) => s.uri === note.id.href), `the tag timeline has ${JSON.stringify(tagged.map((s) => s.uri))}`);
    expect(status.tags.some((t) => t.name === "fedifyinterop"), `tags are ${JSON.stringify(status.tags)}`);
  });

  await check("fedify: a followers-only post of the followed peer is private and on the home timeline", async () => {
    const note = peerNote({ to: ctx.getFollowersUri(PEER_NAME), content: "<p>For my followers only</p>" });
    await send(createOf(note));
    const status = await waitFor("not on the home timeline", homeHas(note.id.href));
    expect(status.visibility === "private", `visibility is ${status.visibility}`);
  });

  await check("fedify: a direct message is direct and notifies the mentioned account", async () => {
    const note = peerNote({
      to: aliceActor.id,
      content: `<p>${mentionHtml} a direct message</p>`,
      tags: [new Mention({ href: aliceActor.id, name: `@alice@${COHORT_HOST}` })],
    });
    await send(createOf(note));
    const notification = await waitFor("no mention notification", async () => {
      const list = await apiOk("GET", "/api/v1/notifications?types[]=mention", aliceToken);
      return list.find((n) => n.status?.uri === note.id.href);
    });
    expect(notification.status.visibility === "direct", `visibility is ${notification.status.visibility}`);
  });

  const cohortInstanceActor = `${COHORT_URL.origin}/actor`;

  await check("fedify: a Create whose object is only an IRI makes Cohort fetch the note, signed", async () => {
    const note = peerNote({ to: PUBLIC_COLLECTION, ccs: [ctx.getFollowersUri(PEER_NAME)], content: "<p>Fetched by its IRI</p>" });
    await send(new Create({ id: newId("creates"), actor: peerActorUri, object: note.id, to: PUBLIC_COLLECTION }));
    const status = await waitFor("not on the home timeline", homeHas(note.id.href));
    expect(status.content.includes("Fetched by its IRI"), `content is ${status.content}`);
    expect(signedNoteFetchers.includes(cohortInstanceActor), `signed fetches by ${JSON.stringify(signedNoteFetchers)}`);
  });

  await check("fedify: an Announce of a note Cohort has not seen is fetched from its origin and shown as a boost", async () => {
    const note = peerNote({ to: PUBLIC_COLLECTION, content: "<p>Boosted before Cohort saw it</p>" });
    signedNoteFetchers.length = 0;
    await send(
      new Announce({ id: newId("announces"), actor: peerActorUri, object: note.id, to: PUBLIC_COLLECTION, ccs: [ctx.getFollowersUri(PEER_NAME)] }),
    );
    const boost = await waitFor("no boost on the home timeline", async () => {
      const home = await apiOk("GET", "/api/v1/timelines/home", aliceToken);
      return home.find((s) => s.reblog?.uri === note.id.href);
    });
    expect(boost.reblog.content.includes("Boosted before Cohort saw it"), `content is ${boost.reblog.content}`);
    expect(signedNoteFetchers.includes(cohortInstanceActor), `signed fetches by ${JSON.stringify(signedNoteFetchers)}`);
  });

  await check("fedify: Update(Person) refreshes the peer's account (display name)", async () => {
    expect(peerAccount, "the peer's account is unknown (the follow check failed)");
    peerDisplayName = "Fedify interop peer, renamed";
    const actor = await peerActor(ctx);
    await send(new Update({ id: newId("updates"), actor: peerActorUri, object: actor, to: PUBLIC_COLLECTION }));
    await waitFor("the display name did not change", async () =>
      (await apiOk("GET", `/api/v1/accounts/${peerAccount.id}`, aliceToken)).display_name === peerDisplayName,
    );
  });

  const statusOf = (id) => apiOk("GET", `/api/v1/statuses/${id}`, aliceToken);

  const like = new Like({ id: newId("likes"), actor: peerActorUri, object: new URL(alicePost.uri) });
  await check("fedify: Like is applied (favourites_count 1, favourite notification)", async () => {
    await send(like);
    await waitFor("favourites_count never became 1", async () => (await statusOf(alicePost.id)).favourites_count === 1);
    const list = await apiOk("GET", "/api/v1/notifications?types[]=favourite", aliceToken);
    expect(
      list.some((n) => n.status?.id === alicePost.id && n.account.acct === `${PEER_NAME}@localhost:${PEER_PORT}`),
      "no favourite notification",
    );
  });

  const announce = new Announce({
    id: newId("announces"),
    actor: peerActorUri,
    object: new URL(alicePost.uri),
    to: PUBLIC_COLLECTION,
    ccs: [ctx.getFollowersUri(PEER_NAME), aliceActor.id],
  });
  await check("fedify: Announce is applied (reblogs_count 1, reblog notification)", async () => {
    await send(announce);
    await waitFor("reblogs_count never became 1", async () => (await statusOf(alicePost.id)).reblogs_count === 1);
    const list = await apiOk("GET", "/api/v1/notifications?types[]=reblog", aliceToken);
    expect(list.some((n) => n.status?.id === alicePost.id), "no reblog notification");
  });

  await check("fedify: Update(Note) is applied (the content changes)", async () => {
    expect(remoteStatus, "no status from the Create check");
    notes.set(noteId, makeNote("Hello again from Fedify, edited"));
    await send(
      new Update({
        id: newId("updates"),
        actor: peerActorUri,
        object: notes.get(noteId),
        to: PUBLIC_COLLECTION,
        ccs: [ctx.getFollowersUri(PEER_NAME), aliceActor.id],
      }),
    );
    await waitFor("the content never changed", async () =>
      (await statusOf(remoteStatus.id)).content.includes("Hello again from Fedify, edited"),
    );
  });

  await check("fedify: Undo(Like) is applied (favourites_count 0)", async () => {
    await send(new Undo({ id: newId("undos"), actor: peerActorUri, object: like }));
    await waitFor("favourites_count never went back to 0", async () => (await statusOf(alicePost.id)).favourites_count === 0);
  });

  await check("fedify: Undo(Announce) is applied (reblogs_count 0)", async () => {
    await send(new Undo({ id: newId("undos"), actor: peerActorUri, object: announce }));
    await waitFor("reblogs_count never went back to 0", async () => (await statusOf(alicePost.id)).reblogs_count === 0);
  });

  // -- alice acts on the peer's note; each arrives at the peer. --
  const receivedWhere = (why, pred) => waitFor(why, () => received.find(({ activity }) => pred(activity)));
  const byAlice = (a) => a.actorId?.href === aliceUri;

  await check("fedify: EmojiReact counts as a favourite; its Undo removes it", async () => {
    const react = new EmojiReact({ id: newId("reacts"), actor: peerActorUri, object: new URL(alicePost.uri), content: "\u{1F44D}" });
    await send(react);
    await waitFor("favourites_count never became 1", async () => (await statusOf(alicePost.id)).favourites_count === 1);
    await send(new Undo({ id: newId("undos"), actor: peerActorUri, object: react }));
    await waitFor("favourites_count never went back to 0", async () => (await statusOf(alicePost.id)).favourites_count === 0);
  });

  await check("cohort -> fedify: a favourite arrives as Like, unfavourite as Undo(Like)", async () => {
    expect(remoteStatus, "no status from the Create check");
    await apiOk("POST", `/api/v1/statuses/${remoteStatus.id}/favourite`, aliceToken);
    const got = await receivedWhere("no Like arrived", (a) => a instanceof Like && byAlice(a) && a.objectId?.href === noteUri.href);
    await apiOk("POST", `/api/v1/statuses/${remoteStatus.id}/unfavourite`, aliceToken);
    await receivedWhere("no Undo(Like) arrived", (a) => a instanceof Undo && byAlice(a) && a.objectId?.href === got.activity.id?.href);
  });

  await check("cohort -> fedify: a boost arrives as Announce, unboost as Undo(Announce)", async () => {
    expect(remoteStatus, "no status from the Create check");
    await apiOk("POST", `/api/v1/statuses/${remoteStatus.id}/reblog`, aliceToken);
    const got = await receivedWhere("no Announce arrived", (a) => a instanceof Announce && byAlice(a) && a.objectId?.href === noteUri.href);
    await apiOk("POST", `/api/v1/statuses/${remoteStatus.id}/unreblog`, aliceToken);
    await receivedWhere("no Undo(Announce) arrived", (a) => a instanceof Undo && byAlice(a) && a.objectId?.href === got.activity.id?.href);
  });

  await check("cohort -> fedify: a reply arrives as Create(Note) with inReplyTo and a Mention; its deletion as Delete", async () => {
    expect(remoteStatus, "no status from the Create check");
    const reply = await apiOk("POST", "/api/v1/statuses", aliceToken, {
      status: `@${peerAcct} a reply from Cohort`,
      in_reply_to_id: remoteStatus.id,
      visibility: "public",
    });
    const got = await waitFor("no Create arrived", () => createdBy(reply.uri));
    const note = await got.activity.getObject({ documentLoader: signedLoader });
    expect(note.replyTargetId?.href === noteUri.href, `inReplyTo is ${note.replyTargetId?.href}`);
    const mentions = [];
    for await (const tag of note.getTags({ documentLoader: signedLoader })) {
      if (tag instanceof Mention) mentions.push(tag.href?.href);
    }
    expect(mentions.includes(peerActorUri.href), `mentions are ${JSON.stringify(mentions)}`);
    await apiOk("DELETE", `/api/v1/statuses/${reply.id}`, aliceToken);
    await receivedWhere("no Delete arrived", (a) => a instanceof Delete && byAlice(a) && a.objectId?.href === reply.uri);
  });

  await check("cohort -> fedify: unfollow arrives as Undo(Follow)", async () => {
    expect(peerAccount, "the peer's account is unknown (the follow check failed)");
    await apiOk("POST", `/api/v1/accounts/${peerAccount.id}/unfollow`, aliceToken);
    await receivedWhere("no Undo(Follow) arrived", (a) => a instanceof Undo && byAlice(a));
    await waitFor("the peer still lists alice as a follower", () => !followers.has(aliceUri));
  });

  await check("fedify: Block is applied (blocked_by), Undo(Block) lifts it", async () => {
    expect(peerAccount, "the peer's account is unknown (the follow check failed)");
    const relationship = async () =>
      (await apiOk("GET", `/api/v1/accounts/relationships?id[]=${peerAccount.id}`, aliceToken))[0];
    const block = new Block({ id: newId("blocks"), actor: peerActorUri, object: aliceActor.id });
    await send(block);
    await waitFor("blocked_by never became true", async () => (await relationship()).blocked_by === true);
    await send(new Undo({ id: newId("undos"), actor: peerActorUri, object: block }));
    await waitFor("blocked_by never went back to false", async () => (await relationship()).blocked_by === false);
  });

  await check("cohort -> fedify: a block arrives as Block, unblock as Undo(Block)", async () => {
    expect(peerAccount, "the peer's account is unknown (the follow check failed)");
    await apiOk("POST", `/api/v1/accounts/${peerAccount.id}/block`, aliceToken);
    const got = await receivedWhere("no Block arrived", (a) => a instanceof Block && byAlice(a) && a.objectId?.href === peerActorUri.href);
    await apiOk("POST", `/api/v1/accounts/${peerAccount.id}/unblock`, aliceToken);
    await receivedWhere("no Undo(Block) arrived", (a) => a instanceof Undo && byAlice(a) && a.objectId?.href === got.activity.id?.href);
  });

  await check("fedify: Follow of a locked Cohort account waits; Reject and Accept come back from the API", async () => {
    const beaToken = await signUp("bea");
    const bea = await apiOk("PATCH", "/api/v1/accounts/update_credentials", beaToken, { locked: true });
    expect(bea.locked === true, "the account did not become locked");
    const beaActor = await ctx.lookupObject(`${COHORT_URL.origin}/users/bea`, { documentLoader: signedLoader });
    expect(beaActor?.manuallyApprovesFollowers === true, "the actor does not say manuallyApprovesFollowers");
    const pending = async () => {
      const list = await apiOk("GET", "/api/v1/follow_requests", beaToken);
      return list.find((a) => a.acct === peerAcct);
    };
    const first = new Follow({ id: newId("follows"), actor: peerActorUri, object: beaActor.id });
    await ctx.sendActivity({ identifier: PEER_NAME }, beaActor, first);
    const requester = await waitFor("no follow request", pending);
    await apiOk("POST", `/api/v1/follow_requests/${requester.id}/reject`, beaToken);
    // Mastodon matches a Reject by its embedded Follow's actor and object; many servers need
    // the Follow's id too, which Cohort cannot give yet once the request row is deleted
    // (reported in docs/FEDERATION.md): accept either, and say so when the id is missing.
    const rejected = await receivedWhere("no Reject arrived", (a) => a instanceof Reject && a.actorId?.href === beaActor.id.href);
    const follow = await rejected.activity.getObject({ documentLoader: signedLoader });
    expect(follow instanceof Follow, `the Reject's object is ${follow?.constructor?.name}`);
    expect(follow.actorId?.href === peerActorUri.href && follow.objectId?.href === beaActor.id.href, "the Reject's Follow names other accounts");
    if (follow.id?.href !== first.id.href) console.log(`# note: the Reject's Follow has id ${follow.id?.href}, not ${first.id.href}`);
    const second = new Follow({ id: newId("follows"), actor: peerActorUri, object: beaActor.id });
    await ctx.sendActivity({ identifier: PEER_NAME }, beaActor, second);
    await waitFor("no second follow request", pending);
    await apiOk("POST", `/api/v1/follow_requests/${requester.id}/authorize`, beaToken);
    await receivedWhere("no Accept arrived", (a) => a instanceof Accept && a.objectId?.href === second.id.href);
  });

  await check("fedify: Delete(Tombstone) is applied (the status answers 404)", async () => {
    expect(remoteStatus, "no status from the Create check");
    notes.delete(noteId);
    await send(
      new Delete({
        id: newId("deletes"),
        actor: peerActorUri,
        object: new Tombstone({ id: noteUri }),
        to: PUBLIC_COLLECTION,
      }),
    );
    await waitFor("the status is still there", async () => {
      const r = await api("GET", `/api/v1/statuses/${remoteStatus.id}`, aliceToken);
      return r.status === 404;
    });
  });

  await check("fedify: Undo(Follow) is applied (the peer is no longer a follower)", async () => {
    await send(new Undo({ id: newId("undos"), actor: peerActorUri, object: follow }));
    const account = await apiOk("GET", `/api/v1/accounts/verify_credentials`, aliceToken);
    await waitFor("the peer is still a follower", async () => {
      const list = await apiOk("GET", `/api/v1/accounts/${account.id}/followers`, aliceToken);
      return !list.some((a) => a.acct === `${PEER_NAME}@localhost:${PEER_PORT}`);
    });
  });

  await check("fedify: Delete(Person) removes the peer's account", async () => {
    expect(peerAccount, "the peer's account is unknown (the follow check failed)");
    await send(new Delete({ id: newId("deletes"), actor: peerActorUri, object: peerActorUri, to: PUBLIC_COLLECTION }));
    await waitFor("the account is still there", async () => {
      const r = await api("GET", `/api/v1/accounts/${peerAccount.id}`, aliceToken);
      return r.status === 404 || r.status === 410;
    });
  });
}

server.close();
console.log(`interop-counts: ${passed} ${failed}`);
process.exit(failed === 0 ? 0 : 1);
