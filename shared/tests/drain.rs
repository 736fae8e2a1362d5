//! The drain schedule over real sockets: on shutdown `/readyz` is 503 at once while
//! requests are still served for the drain delay; then new connections are refused and
//! what is in flight finishes within the grace period.

use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use shared::serve::{Listeners, Parts};
use shared::settings::ListenSettings;
use shared::shutdown::ShutdownSettings;

const DRAIN_DELAY: Duration = Duration::from_millis(800);

fn client() -> reqwest::Client {
    // A connection per request, as a new client (or a balancer's health check) makes.
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_replica_goes_unready_keeps_serving_for_the_delay_then_finishes_in_flight_work() {
    let listeners = Listeners::bind(
        &ListenSettings::new("127.0.0.1", 0),
        &ListenSettings::new("127.0.0.1", 0),
        None,
    )
    .expect("bind");
    let base = format!("http://{}", listeners.http_addr());
    let configure = |cfg: &mut web::ServiceConfig| {
        cfg.route("/ok", web::get().to(|| async { HttpResponse::Ok().body("ok") }))
            .route(
                "/slow",
                web::get().to(|| async {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    HttpResponse::Ok().body("slow")
                }),
            );
    };
    let (trigger, triggered) = tokio::sync::oneshot::channel::<()>();
    let schedule = ShutdownSettings {
        drain_delay: DRAIN_DELAY,
        grace: Duration::from_secs(5),
    };
    let parts = Parts::new().routes(configure);
    let server = tokio::spawn(shared::serve::run(listeners, parts, None, schedule, async {
        let _ = triggered.await;
    }));
    let http = client();
    assert_eq!(
        http.get(format!("{base}/readyz")).send().await.expect("up").status(),
        200
    );

    let signalled = Instant::now();
    trigger.send(()).expect("server waits");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .expect("still up")
            .status(),
        503
    );
    let in_flight = tokio::spawn({
        let (http, url) = (http.clone(), format!("{base}/slow"));
        async move { http.get(url).send().await }
    });
    let mut served_while_draining = 0;
    while signalled.elapsed() < DRAIN_DELAY - Duration::from_millis(200) {
        let response = http
            .get(format!("{base}/ok"))
            .send()
            .await
            .expect("served while draining");
        assert_eq!(response.status(), 200);
        served_while_draining += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served_while_draining > 0);
    tokio::time::sleep(DRAIN_DELAY).await;
    assert!(
        http.get(format!("{base}/ok")).send().await.is_err(),
        "no new connections after the delay"
    );
    let slow = in_flight.await.expect("task").expect("the in-flight request completes");
    assert_eq!(slow.status(), 200);
    assert_eq!(slow.text().await.expect("body"), "slow");
    server.await.expect("task").expect("clean stop");
    println!(
        "served {served_while_draining} requests while draining; stopped after {:?}",
        signalled.elapsed()
    );
}
