//! Rough throughput check, not part of the normal run:
//! `cargo test -p graph-sim --release --test it throughput:: -- --ignored --nocapture`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use graph_sim::{spawn, SimConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn requirements_gets_per_second() {
    let started = Instant::now();
    let (_, sim) = spawn(SimConfig::new(100_000, 1));
    eprintln!("100,000-user simulator up in {:?}", started.elapsed());
    let token = sim.token(&["User.Read.All", "Policy.Read.All"]);
    let ids: Arc<Vec<String>> = Arc::new(sim.tenant().users.iter().take(5_000).map(|u| u.id.clone()).collect());
    let client = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut tasks = Vec::new();
    for worker in 0..32 {
        let (client, token, ids, done, url) = (client.clone(), token.clone(), ids.clone(), done.clone(), sim.url());
        tasks.push(tokio::spawn(async move {
            let mut i = worker;
            while Instant::now() < deadline {
                let id = &ids[i % ids.len()];
                let response = client
                    .get(format!("{url}/beta/users/{id}/authentication/requirements"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                let _ = response.bytes().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
                i += 32;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total = done.load(Ordering::Relaxed);
    eprintln!("{total} requirements GETs in 3 s: {:.0}/s (client and server share the machine)", total as f64 / 3.0);

    let started = Instant::now();
    let mut next = Some(format!(
        "{}/v1.0/users?$filter=assignedLicenses/$count%20ne%200%20and%20userType%20eq%20'Member'&$count=true&$top=999&$select=id,userPrincipalName,displayName,perUserMfaState",
        sim.url()
    ));
    let mut users = 0;
    while let Some(link) = next {
        let page: serde_json::Value = client
            .get(link)
            .bearer_auth(&token)
            .header("ConsistencyLevel", "eventual")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        users += page["value"].as_array().unwrap().len();
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    eprintln!("listed {users} licensed members in {:?}", started.elapsed());
}
