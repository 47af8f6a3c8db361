//! The typed HTTP client. Every call carries the access token; an expired token is refreshed once,
//! transparently, and the new pair is saved where the credentials came from.

use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use satchel_proto::{
    ChangesPage, ChunkInfo, ChunkSpec, CreateFolder, CursorEnvelope, InitUpload, Me, Node,
    NodeName, NodeRef, OnConflict, Page, PatchNode, Problem, ProblemCode, TokenPair, UploadSession,
    VersionInfo,
};
use serde::de::DeserializeOwned;
use serde_json::json;
use uuid::Uuid;

use crate::{ClientError, Credentials, Destination};

/// A client of one Satchel server, signed in as one user.
pub struct Client {
    http: reqwest::Client,
    credentials: Mutex<Credentials>,
    /// Where refreshed credentials are written back, if anywhere.
    store: Option<PathBuf>,
}

/// Turns a non-success response into a [`ClientError::Api`].
async fn check(response: Response) -> Result<Response, ClientError> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Err(match serde_json::from_str::<Problem>(&text) {
        Ok(problem) => ClientError::Api {
            status,
            code: problem.code,
            detail: problem.detail,
        },
        Err(_) => ClientError::Api {
            status,
            code: if status >= 500 {
                ProblemCode::Internal
            } else {
                ProblemCode::BadRequest
            },
            detail: Some(format!(
                "HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            )),
        },
    })
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("satchel/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(15))
        .build()
        .unwrap_or_default()
}

impl Client {
    /// Signs in with a password and returns a client holding the new session.
    pub async fn login(
        server: &str,
        email: &str,
        password: &str,
        device: &str,
    ) -> Result<Client, ClientError> {
        let server = server.trim_end_matches('/').to_owned();
        let http = http();
        let response = http
            .post(format!("{server}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password, "device_name": device}))
            .send()
            .await?;
        let pair: TokenPair = check(response).await?.json().await?;
        let credentials = Credentials {
            server,
            email: pair.user.email,
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
        };
        Ok(Client {
            http,
            credentials: Mutex::new(credentials),
            store: None,
        })
    }

    /// A client over stored credentials; refreshed tokens are saved back to `path`.
    pub fn from_store(path: PathBuf) -> Result<Client, ClientError> {
        let credentials = Credentials::load(&path)?;
        Ok(Client {
            http: http(),
            credentials: Mutex::new(credentials),
            store: Some(path),
        })
    }

    /// Saves the current credentials to `path` (and keeps them there on refresh).
    pub fn save_to(&mut self, path: PathBuf) -> Result<(), ClientError> {
        self.credentials().save(&path)?;
        self.store = Some(path);
        Ok(())
    }

    /// A copy of the current credentials.
    pub fn credentials(&self) -> Credentials {
        self.credentials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.credentials().server)
    }

    /// Sends the request built by `build`, refreshing the access token once if it has expired.
    async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, ClientError> {
        let token = self.credentials().access_token;
        let response = build(&self.http).bearer_auth(token).send().await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return check(response).await;
        }
        match check(response).await {
            Err(ClientError::Api {
                code: ProblemCode::TokenExpired,
                ..
            }) => {
                self.refresh().await?;
                let token = self.credentials().access_token;
                check(build(&self.http).bearer_auth(token).send().await?).await
            }
            Err(ClientError::Api {
                code: ProblemCode::Unauthorized | ProblemCode::TokenReused,
                ..
            }) => Err(ClientError::Other(
                "the session has ended: run `satchel login URL` again".to_owned(),
            )),
            other => other,
        }
    }

    async fn refresh(&self) -> Result<(), ClientError> {
        let current = self.credentials();
        let response = self
            .http
            .post(format!("{}/api/v1/auth/refresh", current.server))
            .json(&json!({"refresh_token": current.refresh_token}))
            .send()
            .await?;
        let pair: TokenPair = check(response).await?.json().await?;
        let updated = Credentials {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            ..current
        };
        if let Some(path) = &self.store {
            updated.save(path)?;
        }
        *self.credentials.lock().unwrap_or_else(|p| p.into_inner()) = updated;
        Ok(())
    }

    async fn json<T: DeserializeOwned>(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<T, ClientError> {
        Ok(self.send(build).await?.json().await?)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = self.url(path);
        self.json(|http| http.get(&url)).await
    }

    /// Ends the session on the server.
    pub async fn logout(&self) -> Result<(), ClientError> {
        let current = self.credentials();
        let response = self
            .http
            .post(format!("{}/api/v1/auth/logout", current.server))
            .json(&json!({"refresh_token": current.refresh_token}))
            .send()
            .await?;
        check(response).await.map(drop)
    }

    pub async fn me(&self) -> Result<Me, ClientError> {
        self.get("/api/v1/me").await
    }

    /// The node at a `/`-rooted path, or `None`.
    pub async fn node_by_path(&self, path: &str) -> Result<Option<Node>, ClientError> {
        let url = self.url("/api/v1/nodes/by-path");
        match self
            .json(|http| http.get(&url).query(&[("path", path)]))
            .await
        {
            Err(ClientError::Api { status: 404, .. }) => Ok(None),
            other => other.map(Some),
        }
    }

    /// Every child of a folder, following pages.
    pub async fn children(&self, folder: NodeRef) -> Result<Vec<Node>, ClientError> {
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = self.url(&format!("/api/v1/folders/{folder}/children"));
            let page: Page<Node> = self
                .json(|http| {
                    let request = http.get(&url).query(&[("limit", "2000")]);
                    match &cursor {
                        Some(cursor) => request.query(&[("cursor", cursor)]),
                        None => request,
                    }
                })
                .await?;
            entries.extend(page.entries);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }

    pub async fn create_folder(
        &self,
        parent: NodeRef,
        name: NodeName,
        on_conflict: OnConflict,
    ) -> Result<Node, ClientError> {
        let url = self.url("/api/v1/folders");
        let body = CreateFolder {
            parent_id: parent,
            name,
            on_conflict,
        };
        self.json(|http| http.post(&url).json(&body)).await
    }

    pub async fn patch(&self, node: Uuid, patch: PatchNode) -> Result<Node, ClientError> {
        let url = self.url(&format!("/api/v1/nodes/{node}"));
        self.json(|http| http.patch(&url).json(&patch)).await
    }

    pub async fn trash(&self, node: Uuid) -> Result<(), ClientError> {
        let url = self.url(&format!("/api/v1/nodes/{node}"));
        self.send(|http| http.delete(&url)).await.map(drop)
    }

    /// Trashes a node only if it is still at revision `rev`.
    pub async fn trash_if(&self, node: Uuid, rev: &str) -> Result<(), ClientError> {
        let url = self.url(&format!("/api/v1/nodes/{node}"));
        self.send(|http| http.delete(&url).header("if-match", format!("\"{rev}\"")))
            .await
            .map(drop)
    }

    pub async fn trashed(&self) -> Result<Vec<Node>, ClientError> {
        let page: Page<Node> = self.get("/api/v1/trash?limit=2000").await?;
        Ok(page.entries)
    }

    pub async fn restore(&self, node: Uuid) -> Result<Node, ClientError> {
        let url = self.url(&format!("/api/v1/nodes/{node}/restore"));
        self.json(|http| http.post(&url)).await
    }

    pub async fn versions(&self, file: Uuid) -> Result<Vec<VersionInfo>, ClientError> {
        let page: Page<VersionInfo> = self
            .get(&format!("/api/v1/files/{file}/versions?limit=2000"))
            .await?;
        Ok(page.entries)
    }

    pub async fn restore_version(&self, file: Uuid, version: u64) -> Result<Node, ClientError> {
        let url = self.url(&format!("/api/v1/files/{file}/versions/{version}/restore"));
        self.json(|http| http.post(&url)).await
    }

    pub async fn search(&self, term: &str) -> Result<Vec<Node>, ClientError> {
        let url = self.url("/api/v1/search");
        let page: Page<Node> = self
            .json(|http| http.get(&url).query(&[("q", term), ("limit", "2000")]))
            .await?;
        Ok(page.entries)
    }

    pub async fn file_chunks(&self, file: Uuid) -> Result<Vec<ChunkInfo>, ClientError> {
        let page: Page<ChunkInfo> = self.get(&format!("/api/v1/files/{file}/chunks")).await?;
        Ok(page.entries)
    }

    /// Opens an upload session.
    pub async fn init_upload(&self, body: &InitUpload) -> Result<UploadSession, ClientError> {
        let url = self.url("/api/v1/uploads");
        self.json(|http| http.post(&url).json(body)).await
    }

    /// Sends chunk `index` of an upload session.
    pub async fn put_chunk(
        &self,
        upload: Uuid,
        index: u64,
        bytes: Bytes,
    ) -> Result<(), ClientError> {
        let url = self.url(&format!("/api/v1/uploads/{upload}/chunks/{index}"));
        self.send(|http| http.put(&url).body(bytes.clone()))
            .await
            .map(drop)
    }

    /// Stores a chunk straight into the blob store through a presigned URL the server handed out
    /// (`chunk_urls` of an upload session), with the headers it requires; no token goes there.
    pub async fn put_presigned(
        &self,
        target: &PresignedChunk,
        bytes: Bytes,
    ) -> Result<(), ClientError> {
        let mut request = self.http.put(&target.url).body(bytes);
        for (name, value) in &target.headers {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(ClientError::Other(format!(
                "the blob store refused a chunk: {}",
                response.status()
            )))
        }
    }

    /// Where an upload session stands.
    pub async fn upload_status(&self, upload: Uuid) -> Result<UploadSession, ClientError> {
        self.get(&format!("/api/v1/uploads/{upload}")).await
    }

    /// Abandons an upload session.
    pub async fn abort_upload(&self, upload: Uuid) -> Result<(), ClientError> {
        let url = self.url(&format!("/api/v1/uploads/{upload}"));
        self.send(|http| http.delete(&url)).await.map(drop)
    }

    /// Appends the next chunks of a list sent in pieces.
    pub async fn append_chunks(
        &self,
        upload: Uuid,
        chunks: Vec<ChunkSpec>,
        more_chunks: bool,
    ) -> Result<UploadSession, ClientError> {
        let url = self.url(&format!("/api/v1/uploads/{upload}/chunks"));
        let body = satchel_proto::AppendChunks {
            chunks,
            more_chunks,
        };
        self.json(|http| http.post(&url).json(&body)).await
    }

    /// Commits a session; `sha256` if the init did not carry it, and the file's modification time.
    pub async fn commit_upload(
        &self,
        upload: Uuid,
        sha256: Option<satchel_proto::Sha256>,
        modified_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Node, ClientError> {
        let url = self.url(&format!("/api/v1/uploads/{upload}/commit"));
        let body = satchel_proto::CommitUpload {
            sha256,
            modified_at,
        };
        self.json(|http| http.post(&url).json(&body)).await
    }

    /// Uploads a small file in one request (the server keeps its bytes with the version).
    pub async fn put_content(
        &self,
        to: &Destination<'_>,
        bytes: Bytes,
        sha256: satchel_proto::Sha256,
        modified_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Node, ClientError> {
        let url = self.url("/api/v1/files/content");
        let parent = to.parent.to_string();
        self.json(|http| {
            let mut request = http
                .put(&url)
                .query(&[("parent_id", parent.as_str()), ("name", to.name.as_str())])
                .header("x-content-sha256", sha256.to_hex())
                .body(bytes.clone());
            if let Some(mode) = &to.on_conflict {
                request = request.query(&[("on_conflict", mode.as_str())]);
            }
            if let Some(rev) = &to.base_rev {
                request = request.header("if-match", format!("\"{rev}\""));
            }
            if let Some(at) = modified_at {
                request = request.header("x-modified-at", at.to_rfc3339());
            }
            request
        })
        .await
    }

    /// Makes a public link.
    pub async fn create_link(
        &self,
        link: &satchel_proto::CreateLink,
    ) -> Result<satchel_proto::LinkInfo, ClientError> {
        let url = self.url("/api/v1/links");
        self.json(|http| http.post(&url).json(link)).await
    }

    /// The user's public links.
    pub async fn links(&self) -> Result<Vec<satchel_proto::LinkInfo>, ClientError> {
        let page: Page<satchel_proto::LinkInfo> = self.get("/api/v1/links").await?;
        Ok(page.entries)
    }

    /// Deletes a public link.
    pub async fn delete_link(&self, id: Uuid) -> Result<(), ClientError> {
        let url = self.url(&format!("/api/v1/links/{id}"));
        self.send(|http| http.delete(&url)).await.map(drop)
    }

    /// Makes an app password (its secret is in this answer only).
    pub async fn create_app_password(
        &self,
        request: &satchel_proto::CreateAppPassword,
    ) -> Result<satchel_proto::AppPasswordCreated, ClientError> {
        let url = self.url("/api/v1/app-passwords");
        self.json(|http| http.post(&url).json(request)).await
    }

    /// The account's app passwords.
    pub async fn app_passwords(&self) -> Result<Vec<satchel_proto::AppPasswordInfo>, ClientError> {
        let page: Page<satchel_proto::AppPasswordInfo> = self.get("/api/v1/app-passwords").await?;
        Ok(page.entries)
    }

    /// Revokes an app password.
    pub async fn revoke_app_password(&self, id: Uuid) -> Result<(), ClientError> {
        let url = self.url(&format!("/api/v1/app-passwords/{id}"));
        self.send(|http| http.delete(&url)).await.map(drop)
    }

    /// Shares a folder with another account.
    pub async fn create_share(
        &self,
        share: &satchel_proto::CreateShare,
    ) -> Result<satchel_proto::ShareInfo, ClientError> {
        let url = self.url("/api/v1/shares");
        self.json(|http| http.post(&url).json(share)).await
    }

    /// Folders the user shared (`incoming = false`) or that are shared with them.
    pub async fn shares(
        &self,
        incoming: bool,
    ) -> Result<Vec<satchel_proto::ShareInfo>, ClientError> {
        let direction = if incoming { "incoming" } else { "outgoing" };
        let mut shares = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/shares?direction={direction}&limit=2000");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page: Page<satchel_proto::ShareInfo> = self.get(&path).await?;
            shares.extend(page.entries);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(shares),
            }
        }
    }

    /// Ends a share (revoking it as its owner, or leaving it as its member).
    pub async fn delete_share(&self, id: Uuid) -> Result<(), ClientError> {
        let url = self.url(&format!("/api/v1/shares/{id}"));
        self.send(|http| http.delete(&url)).await.map(drop)
    }

    /// A cursor at the newest journal entry.
    pub async fn changes_latest(&self) -> Result<CursorEnvelope, ClientError> {
        self.get("/api/v1/changes/latest").await
    }

    /// A page of the journal after `cursor`.
    pub async fn changes(&self, cursor: &str) -> Result<ChangesPage, ClientError> {
        let url = self.url("/api/v1/changes");
        self.json(|http| {
            http.get(&url)
                .query(&[("cursor", cursor), ("limit", "2000")])
        })
        .await
    }

    /// Waits up to `timeout_secs` for a change after `cursor` (the long-poll fallback of the
    /// notification socket); says whether there is one.
    pub async fn wait_changes(&self, cursor: &str, timeout_secs: u64) -> Result<bool, ClientError> {
        let url = self.url("/api/v1/changes/wait");
        let timeout = timeout_secs.to_string();
        let answer: serde_json::Value = self
            .json(|http| {
                http.get(&url)
                    .query(&[("cursor", cursor), ("timeout", timeout.as_str())])
                    .timeout(std::time::Duration::from_secs(timeout_secs + 15))
            })
            .await?;
        Ok(answer
            .get("changed")
            .and_then(|c| c.as_bool())
            .unwrap_or(true))
    }

    /// The bytes of one chunk this user holds.
    pub async fn chunk(&self, sha256: &satchel_proto::Sha256) -> Result<Bytes, ClientError> {
        let url = self.url(&format!("/api/v1/chunks/{}", sha256.to_hex()));
        Ok(self.send(|http| http.get(&url)).await?.bytes().await?)
    }

    /// A fresh access token (refreshed first if it has expired), for the notification socket.
    pub async fn fresh_access_token(&self) -> Result<String, ClientError> {
        self.me().await?;
        Ok(self.credentials().access_token)
    }

    /// Starts a download of a file's current content from byte `from`.
    pub async fn download(&self, file: Uuid, from: u64) -> Result<Response, ClientError> {
        let url = self.url(&format!("/api/v1/files/{file}/content"));
        self.send(|http| {
            let request = http.request(Method::GET, &url);
            if from > 0 {
                request.header("range", format!("bytes={from}-"))
            } else {
                request
            }
        })
        .await
    }
}

/// A presigned request for one chunk, from an upload session's `chunk_urls`.
#[derive(Debug, Clone)]
pub struct PresignedChunk {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

impl PresignedChunk {
    /// The presigned request for chunk `index`, if the session offers one.
    pub fn of(session: &UploadSession, index: u64) -> Option<PresignedChunk> {
        let entry = session.chunk_urls.as_ref()?.get(&index.to_string())?;
        let url = entry.get("url")?.as_str()?.to_owned();
        let headers = entry
            .get("headers")
            .and_then(|h| h.as_object())
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Some(PresignedChunk { url, headers })
    }
}
