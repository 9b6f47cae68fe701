#!/usr/bin/env python3
"""PyTorch's side of `zoo bench --serve`: the zoo's `mnist-cnn` and `pos-tagger` behind the same
API as `zoo serve`, written as a PyTorch user writes a service: FastAPI on uvicorn (one worker
process), an `async def` endpoint per model that decodes the request and runs the model under
`torch.inference_mode()`, one request at a time, the models in eval mode.

    python3 tools/serve_torch.py --mnist-cnn CNN.safetensors --pos-tagger TAGGER.safetensors --port P

The weights are `zoo export` files of the zoo's models (the tagger's vocab-words.txt and
vocab-tags.txt beside its file), loaded into the PyTorch classes of tools/check_export.py. Needs
torch, safetensors, fastapi, uvicorn and pillow (`pip install torch safetensors fastapi uvicorn
pillow`). A picture is read with Pillow as grey and resized to 28x28, then normalized as MNIST's
digits were for training (mean 0.1307, deviation 0.3081); a sentence is split at spaces.
"""

import argparse
import io
import os
import sys

import torch
import torch.nn.functional as F
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from PIL import Image
from pydantic import BaseModel
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_export import Tagger, vocabulary  # noqa: E402
from make_seed_checkpoints import Net  # noqa: E402


class Sentences(BaseModel):
    sentences: list[str]


def service(cnn_path, tagger_path):
    cnn = Net()
    cnn.load_state_dict(load_file(cnn_path), strict=True)
    cnn.eval()
    state = load_file(tagger_path)
    tagger = Tagger(state)
    tagger.load_state_dict(state, strict=True)
    tagger.eval()
    folder = os.path.dirname(tagger_path)
    words, lowercase = vocabulary(os.path.join(folder, "vocab-words.txt"))
    tag_ids, _ = vocabulary(os.path.join(folder, "vocab-tags.txt"))
    tag_names = {i: t for t, i in tag_ids.items()}
    app = FastAPI()

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.post("/v1/models/mnist-cnn/predict")
    async def digit(request: Request):
        body = await request.body()
        try:
            image = Image.open(io.BytesIO(body)).convert("L").resize((28, 28))
        except Exception as err:
            raise HTTPException(status_code=422, detail=f"not a readable image: {err}")
        x = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).float().view(1, 1, 28, 28)
        x = (x / 255 - 0.1307) / 0.3081
        with torch.inference_mode():
            probabilities = F.softmax(cnn(x), dim=1)[0]
        top = probabilities.topk(3)
        answers = [{"label": str(int(i)), "probability": float(p)} for p, i in zip(top.values, top.indices)]
        return {"model": "mnist-cnn", "answers": answers}

    @app.post("/v1/models/pos-tagger/predict")
    async def tag(request: Sentences):
        sentences = []
        with torch.inference_mode():
            for sentence in request.sentences:
                forms = sentence.split()
                ids = [words.get(w.lower() if lowercase else w, 1) for w in forms]
                best = tagger(torch.tensor([ids])).argmax(-1)[0]
                sentences.append([{"word": w, "tag": tag_names[int(b)]} for w, b in zip(forms, best)])
        return {"model": "pos-tagger", "sentences": sentences}

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist-cnn", required=True, help="`zoo export --pretrained mnist-cnn` file")
    parser.add_argument("--pos-tagger", required=True, help="`zoo export --pretrained pos-tagger` file")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = service(args.mnist_cnn, args.pos_tagger)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
