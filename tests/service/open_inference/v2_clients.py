"""Ask a running service through the Open Inference Protocol's real clients; print JSON answers.

    .venv-clients/bin/python tests/service/open_inference/v2_clients.py URL TEXT [TEXT ...]

Runs in the clients' own venv (requirements/clients.txt): tritonclient and kserve pin packages
below the service's pins. For each client (tritonclient with JSON tensors, tritonclient with its
default binary tensor data, kserve's InferenceRESTClient with protocol="v2") it prints the
health and metadata calls' answers and both models' outputs for the texts, top_k 3.
"""

import asyncio
import json
import sys

import numpy as np

TOP_K = 3


def ask_triton(url: str, texts: list[str], binary: bool) -> dict:
    """tritonclient.http: health, metadata and inference, tensors in JSON or binary."""
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url.removeprefix("http://"))
    answers: dict = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready("sentiment"),
        "metadata": client.get_model_metadata("next_word"),
    }
    for name in ("sentiment", "next_word"):
        tensor = triton.InferInput("texts", [len(texts)], "BYTES")
        tensor.set_data_from_numpy(np.array(texts, dtype=np.object_), binary_data=binary)
        outputs = None  # all outputs; binary unless asked for JSON
        if not binary:
            names = ["positive_probability"] if name == "sentiment" else ["words", "probabilities"]
            outputs = [triton.InferRequestedOutput(n, binary_data=False) for n in names]
        parameters = {"top_k": TOP_K} if name == "next_word" else None
        result = client.infer(name, [tensor], outputs=outputs, parameters=parameters)
        head = result.get_response()
        answers[name] = {
            "version": head["model_version"],
            "outputs": {o["name"]: tolist(result.as_numpy(o["name"])) for o in head["outputs"]},
            "binary": ["binary_data_size" in o.get("parameters", {}) for o in head["outputs"]],
        }
    client.close()
    return answers


async def ask_kserve(url: str, texts: list[str]) -> dict:
    """kserve's InferenceRESTClient, protocol v2."""
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=30))
    answers: dict = {
        "live": await client.is_server_live(url),
        "ready": await client.is_server_ready(url),
        "model_ready": await client.is_model_ready(url, "sentiment"),
    }
    for name in ("sentiment", "next_word"):
        tensor = InferInput(name="texts", shape=[len(texts)], datatype="BYTES", data=texts)
        parameters = {"top_k": TOP_K} if name == "next_word" else None
        request = InferRequest(model_name=name, infer_inputs=[tensor], parameters=parameters)
        response = await client.infer(url, request, model_name=name)
        answers[name] = {
            "version": response.model_version,
            "outputs": {o.name: tolist(o.as_numpy()) for o in response.outputs},
        }
    await client.close()
    return answers


def tolist(array: np.ndarray) -> list:
    """Numbers as floats, BYTES elements as str."""
    if array.dtype == np.object_:
        return [[b.decode() if isinstance(b, bytes) else b for b in row] for row in array.tolist()]
    return array.astype(float).tolist()


def main() -> None:
    url, texts = sys.argv[1], sys.argv[2:]
    print(
        json.dumps(
            {
                "tritonclient_json": ask_triton(url, texts, binary=False),
                "tritonclient_binary": ask_triton(url, texts, binary=True),
                "kserve": asyncio.run(ask_kserve(url, texts)),
            }
        )
    )


if __name__ == "__main__":
    main()
