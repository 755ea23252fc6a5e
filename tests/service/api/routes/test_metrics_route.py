"""GET /metrics."""

from fastapi.testclient import TestClient


def test_read_metrics(client: TestClient) -> None:
    client.post("/sentiment", json={"texts": ["a great movie", "dull"]})
    client.post("/next-word", json={"text": "the plot"})
    client.post("/sentiment", json={"text": ""})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'http_requests_total{method="POST",route="/sentiment",status="200"}' in text
    assert 'http_requests_total{method="POST",route="/sentiment",status="422"}' in text
    assert 'http_request_duration_seconds_bucket{le="0.1",method="POST",route="/next-word"}' in text
    assert 'model_version{model="sentiment"} 1.0' in text
    assert 'model_version{model="next_word"} 1.0' in text
    for family in ("batch_size", "batch_queue_wait_seconds", "model_call_seconds"):
        assert f'{family}_count{{model="sentiment"}}' in text
    assert 'batch_padding_ratio_count{model="next_word"}' in text
    assert 'batch_queue_texts{model="sentiment"} 0.0' in text


def test_read_metrics_unknown_route_label(client: TestClient) -> None:
    client.get("/no/such/page/12345")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert 'route="unmatched",status="404"' in response.text
    assert "/no/such/page" not in response.text  # (metric values may hold any digits)
