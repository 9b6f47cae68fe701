#!/usr/bin/env python3
"""Files a user might hand `zoo import` that are not a state_dict, for tests/tests/broken_files.rs.

Run from the repository root with `pip install torch safetensors` done:

    python3 tools/make_broken_fixtures.py

Writes into tests/fixtures/broken/:
- whole_model.pt: `torch.save(model)`, the whole pickled module (its class by reference), as
  users often save instead of `model.state_dict()`;
- tensor.pt: `torch.save(tensor)`, one tensor and no names;
- not_pytorch.pt: a zip archive of a text file, as a renamed download would be;
- lying_header.safetensors: a real safetensors file whose header claims a tensor larger than the
  bytes that follow it.
"""
import io
import json
import os
import struct
import zipfile

import torch
from safetensors.torch import save

OUT = os.path.join("tests", "fixtures", "broken")


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1)
    torch.save(Net(), os.path.join(OUT, "whole_model.pt"))
    torch.save(torch.zeros(3), os.path.join(OUT, "tensor.pt"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a PyTorch checkpoint\n")
    with open(os.path.join(OUT, "not_pytorch.pt"), "wb") as f:
        f.write(buffer.getvalue())
    real = save({"fc.weight": torch.ones(2, 4), "fc.bias": torch.ones(2)})
    size = struct.unpack("<Q", real[:8])[0]
    header = json.loads(real[8 : 8 + size])
    header["fc.weight"]["shape"] = [2000, 4000]
    header["fc.weight"]["data_offsets"] = [0, 2000 * 4000 * 4]
    text = json.dumps(header).encode()
    with open(os.path.join(OUT, "lying_header.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + real[8 + size :])
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
