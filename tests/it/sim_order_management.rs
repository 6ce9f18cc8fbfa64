//! The Order Management API in the simulator, rule by rule (docs/simulator.md rows O1-O24):
//! images under merchant-chosen ids, the v2 category and order lines of an order keyed by
//! paymentType and orderId, the order read, v3 categories with server ids, and what the spec
//! leaves out (the deprecated v1 endpoints).

use crate::common;
use base64::Engine as _;
use common::{send, Client, Resp};
use serde_json::{json, Value};
use vippsctl::sim::{SimConfig, SANDBOX_MSN};

const OM: &str = "/order-management";

/// A PNG of `w` x `h` pixels, base64-encoded as `src` wants it.
pub(crate) fn png_base64(w: u32, h: u32) -> String {
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().expect("png header");
        writer
            .write_image_data(&vec![0x80; (w * h) as usize])
            .expect("png data");
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The header of a baseline JPEG of `w` x `h` (SOI, APP0, SOF0): what the size check reads.
fn jpeg_base64(w: u16, h: u16) -> String {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 0x08,
    ];
    b.extend(h.to_be_bytes());
    b.extend(w.to_be_bytes());
    b.extend([0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9]);
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub(crate) fn image(id: &str, src: &str) -> Value {
    json!({"imageId": id, "src": src, "type": "base64"})
}

/// The published example's receipt: three lines (one shipping), a CODE 39 barcode.
pub(crate) fn receipt() -> Value {
    json!({
        "orderLines": [
            {"name": "socks", "id": "line_item_1", "totalAmount": 1000, "totalAmountExcludingTax": 800,
             "totalTaxAmount": 200, "taxRate": 2500,
             "unitInfo": {"unitPrice": 400, "quantity": "2.5", "quantityUnit": "KG"},
             "discount": 0, "productUrl": "https://example.com/store/socks", "isReturn": false, "isShipping": false},
            {"name": "flip-flops", "id": "line_item_2", "totalAmount": 5000, "totalAmountExcludingTax": 4000,
             "totalTaxAmount": 1000, "taxPercentage": 25,
             "unitInfo": {"unitPrice": 2500, "quantity": "3"}, "discount": 2500},
            {"name": "Home Delivery", "id": "delivery", "totalAmount": 1000, "totalAmountExcludingTax": 800,
             "totalTaxAmount": 200, "taxRate": 2500, "taxPercentage": 25, "isShipping": true}
        ],
        "bottomLine": {
            "currency": "NOK", "tipAmount": 0, "posId": "pos_122",
            "paymentSources": {"giftCard": 0, "card": 7000, "voucher": 0, "cash": 0},
            "barcode": {"format": "CODE 39", "data": "SC0527013501 "},
            "receiptNumber": "0527013501"
        }
    })
}

async fn post(c: &Client, path: &str, body: &Value) -> Resp {
    send(c.req("POST", &format!("{OM}{path}")).json(body)).await
}

async fn put(c: &Client, path: &str, body: &Value) -> Resp {
    send(c.req("PUT", &format!("{OM}{path}")).json(body)).await
}

async fn get(c: &Client, path: &str) -> Resp {
    send(c.req("GET", &format!("{OM}{path}"))).await
}

fn why(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// 400 with an `invalidParams` entry naming `field`.
fn refused(r: &Resp, field: &str) {
    assert_eq!(r.status, 400, "{field}: {}", why(r));
    let names: Vec<String> = r.json()["invalidParams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    assert!(
        names.iter().any(|n| n.contains(field)),
        "{field} not named in {names:?}"
    );
}

#[tokio::test]
async fn images_take_a_merchant_chosen_id_and_only_png_or_jpeg_at_least_167_high_up_to_2mb() {
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    let r = post(
        &c,
        "/v1/images",
        &image("socks-orange.1_2", &png_base64(200, 200)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", why(&r));
    assert_eq!(r.json(), json!({"imageId": "socks-orange.1_2"}));
    // The same image again is a retry; another image under the id is refused.
    let r = post(
        &c,
        "/v1/images",
        &image("socks-orange.1_2", &png_base64(200, 200)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", why(&r));
    refused(
        &post(
            &c,
            "/v1/images",
            &image("socks-orange.1_2", &png_base64(300, 300)),
        )
        .await,
        "imageId",
    );
    let r = post(&c, "/v1/images", &image("ticket", &jpeg_base64(300, 167))).await;
    assert_eq!(r.status, 200, "{}", why(&r));
    let stored = &sim.state().merchants[SANDBOX_MSN].order_management.images;
    assert_eq!(stored["ticket"].format, "JPEG");
    assert_eq!(
        (stored["ticket"].width, stored["ticket"].height),
        (300, 167)
    );

    // imageId: `^[0-9A-Za-z-_\.]+$`, at most 128.
    for bad in ["", "with space", "æøå", "a/b"] {
        refused(
            &post(&c, "/v1/images", &image(bad, &png_base64(200, 200))).await,
            "imageId",
        );
    }
    refused(
        &post(
            &c,
            "/v1/images",
            &image(&"x".repeat(129), &png_base64(200, 200)),
        )
        .await,
        "imageId",
    );
    let r = post(
        &c,
        "/v1/images",
        &image(&"x".repeat(128), &png_base64(200, 200)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", why(&r));
    // src: base64 (not a URL), PNG or JPEG, at least 167 pixels high, at most 2MB.
    refused(
        &post(&c, "/v1/images", &image("url", "https://example.com/a.png")).await,
        "src",
    );
    let gif = base64::engine::general_purpose::STANDARD.encode(b"GIF89a\x01\x00\x01\x00");
    refused(&post(&c, "/v1/images", &image("gif", &gif)).await, "src");
    refused(
        &post(&c, "/v1/images", &image("low", &png_base64(400, 166))).await,
        "src",
    );
    refused(
        &post(&c, "/v1/images", &image("low-jpeg", &jpeg_base64(400, 166))).await,
        "src",
    );
    let mut big = base64::engine::general_purpose::STANDARD
        .decode(png_base64(200, 200))
        .unwrap_or_default();
    big.resize(2_000_001, 0);
    let big = base64::engine::general_purpose::STANDARD.encode(big);
    refused(&post(&c, "/v1/images", &image("big", &big)).await, "src");
    // type is `base64`, and all three are required.
    let mut other = image("t", &png_base64(200, 200));
    other["type"] = json!("url");
    refused(&post(&c, "/v1/images", &other).await, "type");
    refused(
        &post(&c, "/v1/images", &json!({"imageId": "x", "type": "base64"})).await,
        "src",
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_v2_category_is_replaced_by_the_next_put_and_read_back_with_the_order() {
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    let cat = json!({"category": "GENERAL", "orderDetailsUrl": "https://example.com/orders/1"});
    let r = put(&c, "/v2/ECOM/categories/order-1", &cat).await;
    assert_eq!(r.status, 200, "{}", why(&r));
    // The answer is an id as a JSON string.
    assert!(
        r.json()
            .as_str()
            .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
        "{}",
        why(&r)
    );
    let r = get(&c, "/v2/ECOM/order-1").await;
    assert_eq!(r.status, 200, "{}", why(&r));
    assert_eq!(r.json(), json!({"category": cat}));

    // "Only one (the latest) category is shown": the next PUT replaces it.
    let r = post(
        &c,
        "/v1/images",
        &image("ticket-img", &png_base64(200, 200)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", why(&r));
    let ticket = json!({"category": "TICKET", "orderDetailsUrl": "https://example.com/t/1", "imageId": "ticket-img"});
    assert_eq!(
        put(&c, "/v2/ECOM/categories/order-1", &ticket).await.status,
        200
    );
    assert_eq!(get(&c, "/v2/ECOM/order-1").await.json()["category"], ticket);

    // An image that was never uploaded is not found.
    let unknown = json!({"category": "TICKET", "orderDetailsUrl": "https://example.com/t/1", "imageId": "nope"});
    let r = put(&c, "/v2/ECOM/categories/order-1", &unknown).await;
    assert_eq!(r.status, 404, "{}", why(&r));
    // The enum, the URL, the path's paymentType and orderId.
    refused(
        &put(
            &c,
            "/v2/ECOM/categories/order-1",
            &json!({"category": "INVOICE", "orderDetailsUrl": "https://e.com"}),
        )
        .await,
        "category",
    );
    refused(
        &put(
            &c,
            "/v2/ECOM/categories/order-1",
            &json!({"category": "GENERAL", "orderDetailsUrl": "/relative"}),
        )
        .await,
        "orderDetailsUrl",
    );
    refused(
        &put(
            &c,
            "/v2/ECOM/categories/order-1",
            &json!({"category": "GENERAL"}),
        )
        .await,
        "orderDetailsUrl",
    );
    refused(
        &put(&c, "/v2/EPAYMENT/categories/order-1", &cat).await,
        "paymentType",
    );
    refused(
        &put(&c, "/v2/ECOM/categories/order%201", &cat).await,
        "orderId",
    );
    let r = send(
        c.req("PUT", &format!("{OM}/v2/ECOM/categories/order-1"))
            .header("Content-Type", "text/plain")
            .body(cat.to_string()),
    )
    .await;
    refused(&r, "Content-Type");

    // Stored per payment type: the same orderId under RECURRING is another order.
    assert_eq!(get(&c, "/v2/RECURRING/order-1").await.status, 404);
    assert_eq!(get(&c, "/v2/ECOM/order-2").await.status, 404);
    // The read documents no 400: a malformed key is simply not found.
    assert_eq!(get(&c, "/v2/OTHER/order-1").await.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn order_lines_are_added_once_and_their_sums_and_tax_follow_the_spec() {
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    let r = post(&c, "/v2/RECURRING/receipts/chr-1", &receipt()).await;
    assert_eq!(r.status, 201, "{}", why(&r));
    assert!(r.json().as_str().is_some(), "a JSON string: {}", why(&r));
    let order = get(&c, "/v2/RECURRING/chr-1").await.json();
    assert!(order.get("category").is_none(), "{order}");
    let lines = &order["receipt"]["orderLines"];
    assert_eq!(lines.as_array().map(Vec::len), Some(3));
    // "Will default to PCS if not set."
    assert_eq!(lines[1]["unitInfo"]["quantityUnit"], "PCS");
    assert_eq!(lines[0]["unitInfo"]["quantityUnit"], "KG");
    assert_eq!(
        order["receipt"]["bottomLine"]["barcode"]["format"],
        "CODE 39"
    );
    // A second set of order lines for the order is a conflict.
    let r = post(&c, "/v2/RECURRING/receipts/chr-1", &receipt()).await;
    assert_eq!(r.status, 409, "{}", why(&r));

    let with = |f: &dyn Fn(&mut Value)| {
        let mut r = receipt();
        f(&mut r);
        r
    };
    let cases: Vec<(&str, Value)> = vec![
        // totalAmount is totalAmountExcludingTax plus totalTaxAmount.
        (
            "totalAmount",
            with(&|r| r["orderLines"][0]["totalAmount"] = json!(999)),
        ),
        // "Either this or taxRate must be set."
        (
            "taxRate",
            with(&|r| {
                r["orderLines"][0]
                    .as_object_mut()
                    .map(|o| o.remove("taxRate"));
            }),
        ),
        // Basis points 0..10000; whole percent 0..100.
        (
            "taxRate",
            with(&|r| r["orderLines"][0]["taxRate"] = json!(10001)),
        ),
        (
            "taxRate",
            with(&|r| r["orderLines"][0]["taxRate"] = json!(-1)),
        ),
        (
            "taxPercentage",
            with(&|r| r["orderLines"][1]["taxPercentage"] = json!(101)),
        ),
        (
            "taxRate",
            with(&|r| r["orderLines"][2]["taxRate"] = json!(2000)),
        ),
        (
            "name",
            with(&|r| {
                r["orderLines"][0].as_object_mut().map(|o| o.remove("name"));
            }),
        ),
        (
            "discount",
            with(&|r| r["orderLines"][1]["discount"] = json!(-5)),
        ),
        (
            "quantity",
            with(&|r| r["orderLines"][0]["unitInfo"]["quantity"] = json!("2,5")),
        ),
        (
            "quantity",
            with(&|r| r["orderLines"][0]["unitInfo"]["quantity"] = json!("12345678901")),
        ),
        (
            "unitPrice",
            with(&|r| {
                r["orderLines"][0]["unitInfo"]
                    .as_object_mut()
                    .map(|o| o.remove("unitPrice"));
            }),
        ),
        (
            "quantityUnit",
            with(&|r| r["orderLines"][0]["unitInfo"]["quantityUnit"] = json!("TONNE")),
        ),
        ("orderLines", with(&|r| r["orderLines"] = json!([]))),
        (
            "bottomLine.currency",
            with(&|r| r["bottomLine"]["currency"] = json!("SEK")),
        ),
        (
            "bottomLine.currency",
            with(&|r| {
                r["bottomLine"]
                    .as_object_mut()
                    .map(|o| o.remove("currency"));
            }),
        ),
        (
            "bottomLine.tipAmount",
            with(&|r| r["bottomLine"]["tipAmount"] = json!(-1)),
        ),
        (
            "bottomLine.barcode.data",
            with(&|r| {
                r["bottomLine"]["barcode"] = json!({"format": "EAN-13", "data": "4006381333932"})
            }),
        ),
        (
            "bottomLine.barcode.format",
            with(&|r| r["bottomLine"]["barcode"] = json!({"format": "QR", "data": "x"})),
        ),
        (
            "bottomLine.barcode.data",
            with(&|r| r["bottomLine"]["barcode"] = json!({"format": "CODE 39"})),
        ),
        (
            "bottomLine",
            with(&|r| {
                r.as_object_mut().map(|o| o.remove("bottomLine"));
            }),
        ),
    ];
    for (i, (field, body)) in cases.iter().enumerate() {
        let r = post(&c, &format!("/v2/ECOM/receipts/bad-{i}"), body).await;
        refused(&r, field);
    }
    // None of the refused ones was stored.
    assert_eq!(get(&c, "/v2/ECOM/bad-0").await.status, 404);
    // A valid EAN-13 and a returned line are fine.
    let ok = with(&|r| {
        r["bottomLine"]["barcode"] = json!({"format": "EAN-13", "data": "4006381333931"});
        r["orderLines"][1]["isReturn"] = json!(true);
    });
    let r = post(&c, "/v2/ECOM/receipts/ok-1", &ok).await;
    assert_eq!(r.status, 201, "{}", why(&r));
    sim.shutdown().await;
}

#[tokio::test]
async fn v3_categories_get_server_ids_are_queried_by_order_id_and_deleted() {
    let sim = common::start(SimConfig::test().with_merchants(["654321"])).await;
    let c = Client::new(&sim).await;
    let body = json!({"orderId": "PaymentReference123", "paymentType": "ECOM", "type": "RECEIPT", "url": "https://www.example.com"});
    let r = post(&c, "/v3/categories", &body).await;
    assert_eq!(r.status, 201, "{}", why(&r));
    let id = r.json()["categoryId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let second = post(&c, "/v3/categories", &body).await.json()["categoryId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_ne!(id, second, "every create is a new category");

    let r = get(&c, &format!("/v3/categories/{id}")).await;
    assert_eq!(r.status, 200, "{}", why(&r));
    let mut expected = body.clone();
    expected["categoryId"] = json!(id);
    assert_eq!(r.json(), expected);
    let list = get(&c, "/v3/categories?orderId=PaymentReference123").await;
    assert_eq!(list.status, 200, "{}", why(&list));
    assert_eq!(list.json()["categories"].as_array().map(Vec::len), Some(2));
    let none = get(&c, "/v3/categories?orderId=other").await;
    assert_eq!(none.json(), json!({"categories": []}));
    refused(&get(&c, "/v3/categories").await, "orderId");

    // Another sales unit sees none of them.
    let other = Client {
        msn: Some("654321".into()),
        ..Client::new(&sim).await
    };
    assert_eq!(
        get(&other, &format!("/v3/categories/{id}")).await.status,
        404
    );

    // The body: required fields, enums, URI, image.
    for (field, bad) in [
        (
            "orderId",
            json!({"paymentType": "ECOM", "type": "RECEIPT", "url": "https://e.com"}),
        ),
        (
            "orderId",
            json!({"orderId": "a b", "paymentType": "ECOM", "type": "RECEIPT", "url": "https://e.com"}),
        ),
        (
            "paymentType",
            json!({"orderId": "o", "paymentType": "VIPPS", "type": "RECEIPT", "url": "https://e.com"}),
        ),
        (
            "type",
            json!({"orderId": "o", "paymentType": "ECOM", "type": "receipt", "url": "https://e.com"}),
        ),
        (
            "url",
            json!({"orderId": "o", "paymentType": "ECOM", "type": "RECEIPT", "url": ""}),
        ),
        (
            "imageId",
            json!({"orderId": "o", "paymentType": "ECOM", "type": "RECEIPT", "url": "https://e.com", "imageId": "never-uploaded"}),
        ),
    ] {
        refused(&post(&c, "/v3/categories", &bad).await, field);
    }
    refused(&get(&c, "/v3/categories/not-a-uuid").await, "categoryId");

    let del = send(c.req("DELETE", &format!("{OM}/v3/categories/{id}"))).await;
    assert_eq!(del.status, 200, "{}", why(&del));
    assert!(del.body.is_empty());
    assert_eq!(get(&c, &format!("/v3/categories/{id}")).await.status, 404);
    let again = send(c.req("DELETE", &format!("{OM}/v3/categories/{id}"))).await;
    assert_eq!(again.status, 404);
    let list = get(&c, "/v3/categories?orderId=PaymentReference123").await;
    assert_eq!(list.json()["categories"].as_array().map(Vec::len), Some(1));
    sim.shutdown().await;
}

#[tokio::test]
async fn calls_need_the_msn_and_the_deprecated_v1_order_endpoints_are_not_served() {
    let sim = common::start(SimConfig::test()).await;
    let c = Client::new(&sim).await;
    // The spec makes Merchant-Serial-Number a required header everywhere, even with own keys.
    let bare = Client {
        msn: None,
        ..Client::new(&sim).await
    };
    refused(
        &get(&bare, "/v3/categories?orderId=o").await,
        "Merchant-Serial-Number",
    );
    // The v1 transactionId endpoints are deprecated ("No longer available").
    for (method, path) in [
        ("GET", "/v1/orders/5001234567"),
        ("PUT", "/v1/orders/5001234567"),
        ("GET", "/v1/receipts/5001234567"),
        ("POST", "/v1/receipts/5001234567"),
    ] {
        let r = send(
            c.req(method, &format!("{OM}{path}"))
                .json(&json!({"category": "GENERAL", "orderDetailsUrl": "https://e.com"})),
        )
        .await;
        assert_eq!(r.status, 404, "{method} {path}");
    }
    // Its Vipps-System-* headers may be 100 characters (30 elsewhere).
    let r = send(
        c.req("GET", &format!("{OM}/v3/categories?orderId=o"))
            .header("Vipps-System-Name", "n".repeat(100)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", why(&r));
    let r = send(
        c.req("GET", &format!("{OM}/v3/categories?orderId=o"))
            .header("Vipps-System-Name", "n".repeat(101)),
    )
    .await;
    refused(&r, "Vipps-System-Name");
    // Authentication is the gateway's, as for every API.
    let r = send(
        c.http
            .get(format!("{}{OM}/v3/categories?orderId=o", c.base))
            .header("Merchant-Serial-Number", SANDBOX_MSN),
    )
    .await;
    assert_eq!(r.status, 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn what_was_added_to_orders_survives_a_restart_with_the_state_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = || SimConfig {
        state_file: Some(dir.path().join("sim.json")),
        ..SimConfig::test()
    };
    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    assert_eq!(
        post(&c, "/v1/images", &image("kept", &png_base64(170, 170)))
            .await
            .status,
        200
    );
    assert_eq!(
        post(&c, "/v2/ECOM/receipts/kept-1", &receipt())
            .await
            .status,
        201
    );
    let id = post(
        &c,
        "/v3/categories",
        &json!({"orderId": "kept-1", "paymentType": "ECOM", "type": "DELIVERY", "url": "https://e.com/d"}),
    )
    .await
    .json()["categoryId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    sim.shutdown().await;

    let sim = common::start(config()).await;
    let c = Client::new(&sim).await;
    assert_eq!(get(&c, "/v2/ECOM/kept-1").await.status, 200);
    assert_eq!(get(&c, &format!("/v3/categories/{id}")).await.status, 200);
    // The image is known (a category can name it), but the state holds its digest, not the image.
    let cat = json!({"category": "GENERAL", "orderDetailsUrl": "https://e.com", "imageId": "kept"});
    assert_eq!(
        put(&c, "/v2/ECOM/categories/kept-1", &cat).await.status,
        200
    );
    let text = std::fs::read_to_string(dir.path().join("sim.json")).expect("state");
    assert!(
        !text.contains(&png_base64(170, 170)[..40]),
        "the image is not stored"
    );
    sim.shutdown().await;
}
