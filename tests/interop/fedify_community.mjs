// Community checks with Fedify against `cohort serve` (called by fedify_peer.mjs, which owns
// the peer server, its actors and the check helpers).
//
// A Cohort community is a `Group` actor (FEP-1b12, Lemmy's way): following it is joining;
// a post addressed to or mentioning it is a thread; the Group announces each new thread
// with a plain `Announce(Note)` (what Mastodon understands) and relays every post of the
// community as `Announce(Create(Note))` to the members other than its author. The peer's
// actor `member` joins and posts the way Lemmy does (`Create(Page)` with a title); `reader`
// joins too and so receives the relay of `member`'s post; `outsider` never joins and is
// refused.

import { randomUUID } from "node:crypto";
import {
  Accept,
  Announce,
  Create,
  Delete,
  Follow,
  Group,
  Note,
  Page,
  PUBLIC_COLLECTION,
  Reject,
  Tombstone,
  Undo,
  Update,
} from "@fedify/fedify/vocab";

const NAME = "caregivers";

/**
 * Runs the community checks. `t` carries the peer's context and helpers: ctx, cohortUrl,
 * admin {username, password}, check, fail, expect, waitFor, api, apiOk, signIn, signUp,
 * received (activities the peer's listeners accepted), deliveries (every POST to the
 * peer's inboxes with its signature's keyId and Fedify's answer), pages (Page objects the
 * peer serves by id), newId.
 */
export async function communityChecks(t) {
  const { ctx, check, expect, waitFor, api, apiOk, received, deliveries } = t;
  const host = t.cohortUrl.host;
  const groupUri = `${t.cohortUrl.origin}/users/${NAME}`;
  const memberUri = ctx.getActorUri("member");
  const outsiderUri = ctx.getActorUri("outsider");
  const memberAcct = `member@${memberUri.host}`;
  const memberLoader = await ctx.getDocumentLoader({ identifier: "member" });
  const toGroup = (identifier, activity) => ctx.sendActivity({ identifier }, group, activity);

  let adminToken;
  let group;
  let groupKeyId;

  const created = await check("community: a Cohort admin (made with the CLI) creates an open community", async () => {
    adminToken = await t.signIn(t.admin.username, t.admin.password);
    const r = await api("POST", "/api/v1/communities", adminToken, {
      name: NAME,
      title: "Caregivers",
      description: "Peer support for family caregivers.",
      membership: "open",
      visibility: "public",
    });
    expect(r.status === 201, `answered ${r.status}: ${r.text.slice(0, 200)}`);
    expect(r.json.name === NAME && r.json.membership === "open", `created ${r.text.slice(0, 200)}`);
    expect(r.json.account?.group === true, "the community's account is not a group");
  });
  if (!created) {
    t.fail("community: the remaining checks", "skipped: no community");
    return;
  }

  const community = () => apiOk("GET", `/api/v1/communities/${NAME}`, adminToken);
  const threads = () => apiOk("GET", `/api/v1/communities/${NAME}/statuses`, adminToken);
  const members = () => apiOk("GET", `/api/v1/communities/${NAME}/members`, adminToken);

  const found = await check("community: WebFinger finds the Group; Fedify reads a Group with attributedTo, inbox, followers and a usable key", async () => {
    const jrd = await ctx.lookupWebFinger(`acct:${NAME}@${host}`);
    const self = jrd?.links?.find((l) => l.rel === "self" && /activity\+json|ld\+json/.test(l.type ?? ""));
    expect(self?.href === groupUri, `self link is ${self?.href}`);
    group = await ctx.lookupObject(`@${NAME}@${host}`, { documentLoader: memberLoader });
    expect(group instanceof Group, `got ${group?.constructor?.name ?? group}`);
    expect(group.id?.href === groupUri, `id is ${group.id?.href}`);
    expect(group.attributionId?.href === `${groupUri}/moderators`, `attributedTo is ${group.attributionId?.href}`);
    expect(group.inboxId?.href === `${groupUri}/inbox`, `inbox is ${group.inboxId?.href}`);
    expect(group.followersId?.href === `${groupUri}/followers`, `followers is ${group.followersId?.href}`);
    const key = await group.getPublicKey({ documentLoader: memberLoader });
    expect(key?.ownerId?.href === groupUri && key.publicKey, `publicKey owner is ${key?.ownerId?.href}`);
    groupKeyId = key.id?.href;
    // Lemmy reads the moderators from the collection attributedTo names.
    const { document } = await memberLoader(group.attributionId.href);
    const admin = `${t.cohortUrl.origin}/users/${t.admin.username}`;
    expect(JSON.stringify(document).includes(admin), `the moderators collection does not list ${admin}: ${JSON.stringify(document)}`);
  });
  if (!found) {
    t.fail("community: the remaining checks", "skipped: the Group could not be looked up");
    return;
  }

  /** Activities the Group sent that Fedify verified: its key signed them, its actor sent them. */
  const fromGroup = (pred) =>
    received.find(
      (r) =>
        r.activity.actorId?.href === groupUri &&
        deliveries.some((d) => d.id === r.activity.id?.href && d.keyId === groupKeyId && d.status >= 200 && d.status < 300) &&
        pred(r),
    );
  /** The Group's `Announce(Create(X))` relaying the post `uri`. */
  const relayOf = (uri) =>
    fromGroup(
      ({ activity, json }) =>
        activity instanceof Announce && json.object?.type === "Create" && (json.object.object?.id ?? json.object.object) === uri,
    );

  const join = new Follow({ id: t.newId("follows"), actor: memberUri, object: new URL(groupUri) });
  await check("community: Fedify follows the Group (joins) and receives Accept", async () => {
    const before = (await community()).members_count;
    await toGroup("member", join);
    await waitFor("no Accept of the Follow from the Group", () =>
      fromGroup(({ activity }) => activity instanceof Accept && activity.objectId?.href === join.id.href),
    );
    expect((await members()).some((a) => a.acct === memberAcct), "not among the members");
    const after = (await community()).members_count;
    expect(after === before + 1, `members_count went from ${before} to ${after}`);
  });

  await check("community: a member's @-post is a thread; the Group's Announce(Note IRI) and Announce(Create(Note)) arrive signed by it", async () => {
    const token = await t.signUp("dana");
    await apiOk("POST", `/api/v1/communities/${NAME}/join`, token);
    const post = await apiOk("POST", "/api/v1/statuses", token, {
      status: `@${NAME} What helped you most in the first weeks of caregiving?`,
      visibility: "public",
    });
    await waitFor("not among the community's threads", async () => (await threads()).some((s) => s.uri === post.uri));
    // Mastodon's shape: a public boost whose object is the Note's id only.
    const plain = await waitFor("no plain Announce of the Note from the Group", () =>
      fromGroup(({ activity, json }) => activity instanceof Announce && json.object === post.uri),
    );
    const audience = [...plain.activity.toIds, ...plain.activity.ccIds].map((u) => u.href);
    expect(audience.includes(PUBLIC_COLLECTION.href), `the plain Announce is addressed to ${JSON.stringify(audience)}`);
    const relay = await waitFor("no Announce(Create(Note)) from the Group", () => relayOf(post.uri));
    const create = await relay.activity.getObject({ documentLoader: memberLoader });
    expect(create instanceof Create, `the Announce's object is ${create?.constructor?.name}`);
    expect(create.actorId?.href === `${t.cohortUrl.origin}/users/dana`, `the Create's actor is ${create.actorId?.href}`);
    const note = await create.getObject({ documentLoader: memberLoader });
    expect(note instanceof Note && note.id?.href === post.uri, `the Create's object is ${note?.constructor?.name} ${note?.id?.href}`);
    expect(note.audienceId?.href === groupUri, `the Note's audience is ${note.audienceId?.href}`);
  });

  /** A Lemmy-shaped post (Page with a title) by one of the peer's actors, served by id
   * (the peer serves its community posts and comments at /posts/{id}). */
  const lemmyPage = (identifier, title, body) => {
    const id = `p${randomUUID()}`;
    const page = new Page({
      id: ctx.getObjectUri(Page, { id }),
      attribution: ctx.getActorUri(identifier),
      name: title,
      content: `<p>${body}</p>`,
      mediaType: "text/html",
      tos: [new URL(groupUri), PUBLIC_COLLECTION],
      audience: new URL(groupUri),
    });
    t.pages.set(id, page);
    return page;
  };
  const createOf = (identifier, page) =>
    new Create({
      id: t.newId("creates"),
      actor: ctx.getActorUri(identifier),
      object: page,
      tos: [new URL(groupUri), PUBLIC_COLLECTION],
      audience: new URL(groupUri),
    });

  let page; // the member's Lemmy post
  let pageStatus; // the same as a Cohort status
  await check("community: a member's Lemmy Create(Page) is a thread showing its title, and the Group relays it", async () => {
    // The relay goes to the members other than the author: `reader` joins for it.
    const readerJoin = new Follow({ id: t.newId("follows"), actor: ctx.getActorUri("reader"), object: new URL(groupUri) });
    await toGroup("reader", readerJoin);
    await waitFor("no Accept of reader's Follow from the Group", () =>
      fromGroup(({ activity }) => activity instanceof Accept && activity.objectId?.href === readerJoin.id.href),
    );
    const title = "Respite care: what worked for you?";
    page = lemmyPage("member", title, "We are looking at short respite stays next spring.");
    await toGroup("member", createOf("member", page));
    const status = await waitFor("not among the community's threads", async () =>
      (await threads()).find((s) => s.uri === page.id.href),
    );
    expect(status.content.includes(`<strong>${title}</strong>`), `the title is not shown: ${status.content}`);
    expect(status.content.includes("short respite stays"), `content is ${status.content}`);
    expect(status.account.acct === memberAcct, `author is ${status.account.acct}`);
    expect(status.visibility === "public", `visibility is ${status.visibility}`);
    pageStatus = status;
    await waitFor("no Announce(Create(Page)) relay from the Group", () => relayOf(page.id.href));
  });

  await check("community: a member's Lemmy comment (Note inReplyTo the Page) joins the thread and the Group relays it", async () => {
    expect(pageStatus, "no thread from the previous check");
    const id = `c${randomUUID()}`;
    // Lemmy's comment: to Public, cc the community and the parent's author; audience.
    const comment = new Note({
      id: ctx.getObjectUri(Page, { id }),
      attribution: ctx.getActorUri("reader"),
      content: "<p>Ask whether they can keep the usual routine.</p>",
      mediaType: "text/html",
      replyTarget: page.id,
      to: PUBLIC_COLLECTION,
      ccs: [new URL(groupUri), memberUri],
      audience: new URL(groupUri),
    });
    t.pages.set(id, comment);
    await toGroup(
      "reader",
      new Create({ id: t.newId("creates"), actor: ctx.getActorUri("reader"), object: comment, to: PUBLIC_COLLECTION, ccs: [new URL(groupUri), memberUri], audience: new URL(groupUri) }),
    );
    await waitFor("the comment is not in the thread", async () => {
      const context = await apiOk("GET", `/api/v1/statuses/${pageStatus.id}/context`, adminToken);
      return context.descendants.some((s) => s.uri === comment.id.href && s.in_reply_to_id === pageStatus.id);
    });
    await waitFor("no Announce(Create(Note)) relay of the comment from the Group", () => relayOf(comment.id.href));
  });

  await check("community: a member's Lemmy Update(Page) changes the thread, title included", async () => {
    expect(pageStatus, "no thread from the Create(Page) check");
    const title = "Respite care: what worked for you? (edited)";
    const edited = page.clone({ name: title, content: "<p>We booked a week in March.</p>" });
    t.pages.set(page.id.pathname.split("/").pop(), edited);
    await toGroup(
      "member",
      new Update({ id: t.newId("updates"), actor: memberUri, object: edited, tos: [new URL(groupUri), PUBLIC_COLLECTION], audience: new URL(groupUri) }),
    );
    const status = await waitFor("the thread never changed", async () => {
      const s = await apiOk("GET", `/api/v1/statuses/${pageStatus.id}`, adminToken);
      return s.content.includes("booked a week") ? s : null;
    });
    expect(status.content.includes(`<strong>${title}</strong>`), `the edited title is not shown: ${status.content}`);
  });

  await check("community: a non-member's Create to the Group is refused: nothing appears", async () => {
    const stray = lemmyPage("outsider", "Not a member", "A post from outside the community.");
    await toGroup("outsider", createOf("outsider", stray));
    // Inbound activities are applied in arrival order: once a member's later post is in,
    // the non-member's has been handled.
    const marker = lemmyPage("member", "Later", "Posted after the non-member's.");
    await toGroup("member", createOf("member", marker));
    await waitFor("the member's later post never appeared", async () => (await threads()).some((s) => s.uri === marker.id.href));
    expect(!(await threads()).some((s) => s.uri === stray.id.href), "the non-member's post is a thread");
    const outsider = await apiOk("GET", `/api/v1/accounts/lookup?acct=${encodeURIComponent(`outsider@${outsiderUri.host}`)}`, adminToken);
    const theirs = await apiOk("GET", `/api/v1/accounts/${outsider.id}/statuses`, adminToken);
    expect(theirs.length === 0, `the non-member has statuses: ${JSON.stringify(theirs.map((s) => s.uri))}`);
  });

  await check("community: a member's Delete of its Page removes the thread, and the Group relays the Delete", async () => {
    expect(pageStatus, "no thread from the Create(Page) check");
    t.pages.delete(page.id.pathname.split("/").pop());
    await toGroup(
      "member",
      new Delete({ id: t.newId("deletes"), actor: memberUri, object: new Tombstone({ id: page.id }), tos: [new URL(groupUri), PUBLIC_COLLECTION] }),
    );
    await waitFor("the thread is still there", async () => {
      const r = await api("GET", `/api/v1/statuses/${pageStatus.id}`, adminToken);
      return r.status === 404;
    });
    // `reader` had the post relayed: the Group relays the deletion (FEP-1b12).
    await waitFor("no Announce(Delete) from the Group", () =>
      fromGroup(
        ({ activity, json }) =>
          activity instanceof Announce && json.object?.type === "Delete" && (json.object.object?.id ?? json.object.object) === page.id.href,
      ),
    );
  });

  await check("community: Undo(Follow) of the Group leaves it (members_count drops)", async () => {
    const before = (await community()).members_count;
    await toGroup("member", new Undo({ id: t.newId("undos"), actor: memberUri, object: join }));
    await waitFor(`members_count stayed ${before}`, async () => (await community()).members_count === before - 1);
    expect(!(await members()).some((a) => a.acct === memberAcct), "still among the members");
  });

  await check("community: a moderator's rejection of a join request (approval community) comes back as Reject(Follow)", async () => {
    const name = "caregivers_review";
    const r = await api("POST", "/api/v1/communities", adminToken, { name, title: "Caregivers (reviewed)", membership: "approval" });
    expect(r.status === 201, `creating it answered ${r.status}: ${r.text.slice(0, 200)}`);
    const reviewed = await ctx.lookupObject(`${t.cohortUrl.origin}/users/${name}`, { documentLoader: memberLoader });
    expect(reviewed instanceof Group, `got ${reviewed?.constructor?.name ?? reviewed}`);
    expect(reviewed.manuallyApprovesFollowers === true, "the Group does not say manuallyApprovesFollowers");
    const ask = new Follow({ id: t.newId("follows"), actor: outsiderUri, object: reviewed.id });
    await ctx.sendActivity({ identifier: "outsider" }, reviewed, ask);
    const requester = await waitFor("no join request", async () =>
      (await apiOk("GET", `/api/v1/communities/${name}/join_requests`, adminToken)).find((a) => a.acct === `outsider@${outsiderUri.host}`),
    );
    await apiOk("POST", `/api/v1/communities/${name}/join_requests/${requester.id}/reject`, adminToken);
    const rejected = await waitFor("no Reject arrived", () =>
      received.find(({ activity }) => activity instanceof Reject && activity.actorId?.href === reviewed.id.href),
    );
    // The Follow is the peer's own: read it as sent (Fedify would refetch it by id).
    const follow = await rejected.activity.getObject({ documentLoader: memberLoader, crossOrigin: "trust" });
    expect(follow instanceof Follow, `the Reject's object is ${follow?.constructor?.name}`);
    expect(follow.actorId?.href === outsiderUri.href && follow.objectId?.href === reviewed.id.href, "the Reject's Follow names other accounts");
    // The answer names the Follow by its id (Lemmy needs it), though the request row is gone.
    expect(follow.id?.href === ask.id.href, `the Group's Reject embeds the Follow with id ${follow.id?.href}, not ${ask.id.href}`);
  });
}
