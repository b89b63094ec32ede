#![allow(dead_code)]

use graph_sim::{spawn, SimConfig, SimHandle};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

pub const READ: &[&str] = &["User.Read.All", "Policy.Read.All"];
pub const WRITE: &[&str] = &["User.Read.All", "Policy.ReadWrite.AuthenticationMethod"];

pub struct Sim {
    pub handle: SimHandle,
    pub url: String,
    pub client: Client,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

impl Sim {
    pub fn start(config: SimConfig) -> Sim {
        let (_, handle) = spawn(config);
        let url = handle.url();
        Sim { handle, url, client: Client::new() }
    }

    pub fn token(&self, roles: &[&str]) -> String {
        self.handle.token(roles)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.url) };
        let mut request = self.client.request(method, url);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body read");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
        Answer { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), &[], None).await
    }

    pub async fn get_with(&self, path: &str, token: &str, headers: &[(&str, &str)]) -> Answer {
        self.call(Method::GET, path, Some(token), headers, None).await
    }

    pub async fn patch_state(&self, user_segment: &str, token: &str, state: &str) -> Answer {
        self.call(
            Method::PATCH,
            &format!("/beta/users/{user_segment}/authentication/requirements"),
            Some(token),
            &[],
            Some(serde_json::json!({ "perUserMfaState": state })),
        )
        .await
    }

    pub async fn batch(&self, version: &str, token: &str, requests: Value) -> Answer {
        self.call(
            Method::POST,
            &format!("/{version}/$batch"),
            Some(token),
            &[],
            Some(serde_json::json!({ "requests": requests })),
        )
        .await
    }

    pub async fn sim_get(&self, path: &str) -> Value {
        self.client.get(format!("{}{path}", self.url)).send().await.unwrap().json().await.unwrap()
    }

    pub async fn sim_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.client.post(format!("{}{path}", self.url)).body(body.to_string()).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    pub async fn truth(&self) -> Vec<Value> {
        self.sim_get("/_sim/users").await.as_array().unwrap().clone()
    }

    pub async fn stats(&self) -> Value {
        self.sim_get("/_sim/stats").await
    }
}
