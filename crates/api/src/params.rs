//! Request parameters from wherever clients put them.
//!
//! Mastodon clients send parameters in the query string, as form fields, as JSON or as
//! multipart fields, with arrays as `ids[]=1&ids[]=2`, nested keys as `poll[options][]`, and
//! booleans as `true`, `1` or `"True"`. [`Params`] reads them all into one JSON object, and
//! its getters are lenient about types where clients disagree and strict where a wrong value
//! would change meaning (an unparseable boolean is a 400, not `false`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// All parameters of a request, merged: query first, then the body (body wins).
#[derive(Clone, Debug, Default)]
pub struct Params(pub Map<String, Value>);

/// A file field of a multipart body.
#[derive(Clone, Debug)]
pub struct UploadedFile {
    /// The file name the client gave (not trusted for anything but logs).
    pub file_name: String,
    /// The bytes.
    pub bytes: Bytes,
}

/// Parameters plus the files of a multipart body (`POST /api/v2/media`,
/// `update_credentials` with `avatar`/`header`). Other bodies give no files.
#[derive(Clone, Debug, Default)]
pub struct ParamsWithFiles {
    /// The parameters.
    pub params: Params,
    /// Files by field name.
    pub files: std::collections::HashMap<String, UploadedFile>,
}

impl<S: Send + Sync> FromRequest<S> for ParamsWithFiles {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut files = std::collections::HashMap::new();
        let params = read_params(request, state, Some(&mut files)).await?;
        Ok(ParamsWithFiles { params, files })
    }
}

/// A multipart error as the client should see it: a body over the size limit is a 413.
fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!("the upload is too large: {e}"))
    } else {
        ApiError::BadRequest(format!("invalid multipart body: {e}"))
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_params(request, state, None).await
    }
}

/// Reads every parameter; with `files`, keeps multipart files there too.
async fn read_params<S: Send + Sync>(
    request: Request,
    state: &S,
    mut files: Option<&mut std::collections::HashMap<String, UploadedFile>>,
) -> Result<Params, ApiError> {
    {
        let mut params = Params::default();
        if let Some(query) = request.uri().query() {
            params.merge_urlencoded(query.as_bytes());
        }
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let mut multipart = Multipart::from_request(request, state)
                .await
                .map_err(|e| ApiError::BadRequest(format!("invalid multipart body: {e}")))?;
            while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
                let Some(name) = field.name().map(str::to_owned) else {
                    continue;
                };
                if let Some(file_name) = field.file_name().map(str::to_owned) {
                    // Files are kept only for the endpoints that take them.
                    if let Some(files) = files.as_deref_mut() {
                        let bytes = field.bytes().await.map_err(multipart_error)?;
                        files.insert(name, UploadedFile { file_name, bytes });
                    }
                    continue;
                }
                let text = field.text().await.map_err(|e| {
                    ApiError::BadRequest(format!("invalid multipart field {name}: {e}"))
                })?;
                params.insert_pair(&name, text);
            }
            return Ok(params);
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(params);
        }
        if content_type.starts_with("application/json") || content_type.ends_with("+json") {
            let value: Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
            match value {
                Value::Object(map) => params.0.extend(map),
                _ => {
                    return Err(ApiError::BadRequest(
                        "the JSON body must be an object".into(),
                    ));
                }
            }
        } else {
            params.merge_urlencoded(&body);
        }
        Ok(params)
    }
}

impl Params {
    /// Parses `a=1&b[]=2&c[d]=3` into the map.
    pub fn merge_urlencoded(&mut self, raw: &[u8]) {
        for (key, value) in url::form_urlencoded::parse(raw) {
            self.insert_pair(&key, value.into_owned());
        }
    }

    /// Inserts one `key=value`, honouring `[]` (array) and `[sub]` (object) suffixes.
    pub fn insert_pair(&mut self, key: &str, value: String) {
        let mut parts: Vec<&str> = Vec::new();
        let (head, mut rest) = match key.find('[') {
            Some(i) => (&key[..i], &key[i..]),
            None => (key, ""),
        };
        parts.push(head);
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            parts.push(&stripped[..end]);
            rest = &stripped[end + 1..];
        }
        insert_path(&mut self.0, &parts, Value::String(value));
    }

    fn value(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// Whether the parameter was given at all (even empty), to tell "leave as it is" from
    /// "set to nothing".
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A text parameter (numbers and booleans given as JSON are turned into text).
    pub fn string(&self, key: &str) -> Option<String> {
        match self.value(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A boolean in any spelling clients use; anything else is a 400 naming the parameter.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        let Some(value) = self.value(key) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => n.as_i64().map(|i| i != 0),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(true),
                "false" | "0" | "no" | "off" | "" | "none" | "null" => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| ApiError::BadRequest(format!("{key} must be a boolean")))
    }

    /// An integer; anything else is a 400 naming the parameter.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        let Some(value) = self.value(key) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) if s.trim().is_empty() => return Ok(None),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| ApiError::BadRequest(format!("{key} must be an integer")))
    }

    /// The parameters nested under `key` (`source[privacy]=x` in a form, or
    /// `{"source": {"privacy": "x"}}` in JSON); empty when absent or not an object.
    pub fn nested(&self, key: &str) -> Params {
        match self.value(key) {
            Some(Value::Object(map)) => Params(map.clone()),
            _ => Params::default(),
        }
    }

    /// A list of objects: `key[0][name]=a&key[1][name]=b` (Rails' indexed hash, read in index
    /// order), `key[][name]=a` or a JSON array of objects. Other items are skipped.
    pub fn objects(&self, key: &str) -> Vec<Params> {
        match self.value(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_object().map(|m| Params(m.clone())))
                .collect(),
            Some(Value::Object(map)) => {
                let mut indexed: Vec<(i64, Params)> = map
                    .iter()
                    .filter_map(|(k, v)| {
                        let index = k.trim().parse::<i64>().ok()?;
                        Some((index, Params(v.as_object()?.clone())))
                    })
                    .collect();
                indexed.sort_by_key(|(i, _)| *i);
                indexed.into_iter().map(|(_, p)| p).collect()
            }
            _ => Vec::new(),
        }
    }

    /// A list: `key[]=a&key[]=b`, a JSON array, or a single value.
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.value(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
            Some(_) => self.string(key).into_iter().collect(),
            None => Vec::new(),
        }
    }
}

fn insert_path(map: &mut Map<String, Value>, parts: &[&str], value: Value) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    match rest.first() {
        None => {
            map.insert((*first).to_owned(), value);
        }
        Some(&"") => {
            // `key[]`: append to an array.
            let entry = map
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                *entry = Value::Array(vec![entry.take()]);
            }
            if let Value::Array(items) = entry {
                if rest.len() == 1 {
                    items.push(value);
                } else {
                    let mut inner = Map::new();
                    insert_path(&mut inner, &rest[1..], value);
                    items.push(Value::Object(inner));
                }
            }
        }
        Some(_) => {
            let entry = map
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Params {
        let mut p = Params::default();
        p.merge_urlencoded(raw.as_bytes());
        p
    }

    #[test]
    fn arrays_and_nested_keys_are_understood() {
        let p = parse(
            "id[]=1&id[]=2&poll[options][]=a&poll[options][]=b&poll[expires_in]=60&status=hi",
        );
        assert_eq!(p.list("id"), vec!["1", "2"]);
        assert_eq!(p.string("status").as_deref(), Some("hi"));
        assert_eq!(p.0["poll"]["options"], serde_json::json!(["a", "b"]));
        assert_eq!(p.0["poll"]["expires_in"], "60");
    }

    #[test]
    fn booleans_in_every_client_spelling() {
        let p = parse("a=true&b=1&c=True&d=False&e=0&f=maybe");
        assert_eq!(p.bool("a").unwrap(), Some(true));
        assert_eq!(p.bool("b").unwrap(), Some(true));
        assert_eq!(p.bool("c").unwrap(), Some(true));
        assert_eq!(p.bool("d").unwrap(), Some(false));
        assert_eq!(p.bool("e").unwrap(), Some(false));
        assert!(p.bool("f").is_err());
        assert_eq!(p.bool("missing").unwrap(), None);
    }

    #[test]
    fn integers_are_checked() {
        let p = parse("limit=20&bad=x&empty=");
        assert_eq!(p.int("limit").unwrap(), Some(20));
        assert!(p.int("bad").is_err());
        assert_eq!(p.int("empty").unwrap(), None);
    }

    #[test]
    fn single_values_read_as_lists() {
        assert_eq!(parse("id=5").list("id"), vec!["5"]);
    }

    #[test]
    fn nested_objects_read_from_forms_and_json() {
        let form = parse("source[privacy]=private&source[sensitive]=true");
        assert_eq!(
            form.nested("source").string("privacy").as_deref(),
            Some("private")
        );
        let json = Params(
            serde_json::json!({"source": {"language": "fr"}})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(
            json.nested("source").string("language").as_deref(),
            Some("fr")
        );
        assert!(form.nested("missing").0.is_empty());
    }

    #[test]
    fn indexed_objects_come_in_index_order() {
        let form = parse(
            "fields_attributes[10][name]=c&fields_attributes[2][name]=b&fields_attributes[0][name]=a&fields_attributes[0][value]=1",
        );
        let names: Vec<String> = form
            .objects("fields_attributes")
            .iter()
            .filter_map(|f| f.string("name"))
            .collect();
        assert_eq!(names, vec!["a", "b", "c"]);
        assert_eq!(
            form.objects("fields_attributes")[0]
                .string("value")
                .as_deref(),
            Some("1")
        );
        let json = Params(
            serde_json::json!({"fields_attributes": [{"name": "x", "value": "y"}, 3]})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(json.objects("fields_attributes").len(), 1);
    }
}
