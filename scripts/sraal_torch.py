#!/usr/bin/python3
"""PyTorch modules for every model sraal writes, and a loader for its .safetensors files.

    import sys; sys.path.insert(0, "scripts")
    import sraal_torch
    model, spec, preprocess = sraal_torch.load("model.safetensors")   # load_state_dict strict
    model.eval(); logits = model(x)

or, from the command line, check a file and run it on an .npy batch as `sraal predict` does:

    /usr/bin/python3 scripts/sraal_torch.py model.safetensors [--input x.npy --output y.npy]
        [--probs]

The modules carry the parameter names sraal keeps, those of the reference implementations:
torchvision's ResNet-18 (and its CIFAR form: 3x3 stride-1 stem, no max-pool), VAAL's VAE and
the SRAAL generator built from it (Sinha et al. 2019, Zhang et al. 2020), the state
discriminator, and fyu/drn's DRNSeg around drn_d_22. A file's "sraal.model" metadata is its
ModelSpec (layers/model_zoo.h); "sraal.preprocess", in files written by `sraal train`, says how
the inputs were normalised: x = (pixels / 255 - mean) / std per channel, at height x width.

Needs only torch and numpy: the safetensors format is parsed here. tests/fixtures/gen_fixtures.py
builds its reference models from these classes, and bench/compare_torch.py its benchmark steps.
"""
import argparse
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------- ResNet-18


class BasicBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, 0, bias=False),
                                            nn.BatchNorm2d(out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        identity = self.downsample(x) if self.downsample is not None else x
        return F.relu(h + identity)


class ResNet18(nn.Module):
    """torchvision's names; form 'cifar' (3x3 stem) or 'imagenet' (7x7/2 stem + max-pool);
    `dropout` before fc in training (the MC-dropout baselines)."""

    def __init__(self, form, in_channels, num_classes, width, dropout=0.0):
        super().__init__()
        self.form = form
        self.dropout = dropout
        widths = [max(1, int(np.floor(64 * (1 << i) * width + 0.5))) for i in range(4)]
        if form == "cifar":
            self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        inp = widths[0]
        for i in range(4):
            layer = nn.Sequential(BasicBlock(inp, widths[i], 1 if i == 0 else 2),
                                  BasicBlock(widths[i], widths[i], 1))
            setattr(self, f"layer{i + 1}", layer)
            inp = widths[i]
        self.fc = nn.Linear(widths[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        if self.form == "imagenet":
            h = F.max_pool2d(h, 3, 2, 1)
        for i in range(4):
            h = getattr(self, f"layer{i + 1}")(h)
        h = F.adaptive_avg_pool2d(h, 1).flatten(1)
        if self.dropout > 0:
            h = F.dropout(h, self.dropout, self.training)
        return self.fc(h)


# ----------------------------------------------------------------------------- VAE, generator


class View(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        # reshape, not view: a channels_last activation has no NCHW-contiguous view to flatten
        return x.reshape(x.size(0), *self.shape)


def vae_layout(h, w):
    """The stage counts of layers/vae.cpp resolve_vae_config."""
    small, big = min(h, w), max(h, w)
    enc = max(4, int(np.ceil(np.log2(small / 2.0) - 1e-9)))
    dec = 0
    for L in (3, 2, 1):
        f = 1 << L
        if h % f == 0 and w % f == 0 and big // f <= 8:
            dec = L
            break
    if dec == 0:
        dec = max(1, int(np.ceil(np.log2(big / 4.0))))
    return enc, dec


class Vae(nn.Module):
    """VAAL's VAE (and the SRAAL generator with split_latent) as in layers/vae.cpp: the decoder
    from the first z_dim/2 latents (z_UIR), the STL `classifier` from the last z_dim/2 (z_STL),
    an MLP to class logits, or with `dense` a second decoder to per-pixel logits."""

    def __init__(self, in_channels, height, width, z_dim, base, split_latent, num_classes=0,
                 hidden=(), dense=False):
        super().__init__()
        self.size = (height, width)
        self.split_latent = split_latent
        self.dense = dense
        enc_stages, dec_stages = vae_layout(height, width)
        top = base * 8
        enc = []
        c, h, w = in_channels, height, width
        for i in range(enc_stages):
            out = min(base << min(i, 3), top)
            enc += [nn.Conv2d(c, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True)]
            c, h, w = out, (h + 2 - 4) // 2 + 1, (w + 2 - 4) // 2 + 1
        flat = c * h * w
        enc.append(View(flat))
        self.encoder = nn.Sequential(*enc)
        self.fc_mu = nn.Linear(flat, z_dim)
        self.fc_logvar = nn.Linear(flat, z_dim)
        f = 1 << dec_stages
        s0 = ((height + f - 1) // f, (width + f - 1) // f)

        def decoder(z_in, out_channels):
            dec = [nn.Linear(z_in, top * s0[0] * s0[1]), View(top, *s0)]
            c = top
            for _ in range(dec_stages):
                out = max(1, c // 2)
                dec += [nn.ConvTranspose2d(c, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out),
                        nn.ReLU(True)]
                c = out
            dec.append(nn.ConvTranspose2d(c, out_channels, 1))
            return nn.Sequential(*dec)

        self.decoder = decoder(z_dim // 2 if split_latent else z_dim, in_channels)
        if split_latent and num_classes > 0 and dense:
            self.classifier = decoder(z_dim // 2, num_classes)
        elif split_latent and num_classes > 0:
            layers = []
            inp = z_dim // 2
            for hd in hidden:
                layers += [nn.Linear(inp, hd), nn.ReLU(True)]
                inp = hd
            layers.append(nn.Linear(inp, num_classes))
            self.classifier = nn.Sequential(*layers)

    def _to_size(self, r):
        if tuple(r.shape[2:]) != self.size:
            r = F.interpolate(r, size=self.size, mode="bilinear", align_corners=False)
        return r

    def encode(self, x):
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z):
        return self._to_size(self.decoder(z))

    def classify(self, z_stl):
        out = self.classifier(z_stl)
        return self._to_size(out) if self.dense else out

    def forward(self, x):
        """(recon, mu, logvar), plus the STL logits for a generator with a classifier."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        if not self.split_latent:
            return self.decode(z), mu, logvar
        half = z.shape[1] // 2
        out = (self.decode(z[:, :half]), mu, logvar)
        return out + (self.classify(z[:, half:]),) if hasattr(self, "classifier") else out


class Discriminator(nn.Module):
    """The state discriminator: `depth` x (Linear, ReLU), then Linear to one logit."""

    def __init__(self, z_dim, width, depth):
        super().__init__()
        layers, inp = [], z_dim
        for _ in range(depth):
            layers += [nn.Linear(inp, width), nn.ReLU(True)]
            inp = width
        layers.append(nn.Linear(inp, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


# ----------------------------------------------------------------------------- DRN-D-22
# As fyu/drn (drn.py DRN(BasicBlock, [1, 1, 2, 2, 2, 2, 1, 1], arch='D') inside segment.py
# DRNSeg with its fixed bilinear ConvTranspose2d `up`), written after that code.


class DrnBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=(1, 1)):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, padding=dilation[0],
                               dilation=dilation[0], bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, padding=dilation[1], dilation=dilation[1],
                               bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        residual = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + residual)


class DrnD22(nn.Module):
    def __init__(self, channels, in_channels):
        super().__init__()
        self.inplanes = channels[0]
        self.layer0 = nn.Sequential(nn.Conv2d(in_channels, channels[0], 7, 1, 3, bias=False),
                                    nn.BatchNorm2d(channels[0]), nn.ReLU(inplace=True))
        self.layer1 = self._make_conv_layers(channels[0], 1, stride=1)
        self.layer2 = self._make_conv_layers(channels[1], 1, stride=2)
        self.layer3 = self._make_layer(channels[2], 2, stride=2)
        self.layer4 = self._make_layer(channels[3], 2, stride=2)
        self.layer5 = self._make_layer(channels[4], 2, dilation=2, new_level=False)
        self.layer6 = self._make_layer(channels[5], 2, dilation=4, new_level=False)
        self.layer7 = self._make_conv_layers(channels[6], 1, dilation=2)
        self.layer8 = self._make_conv_layers(channels[7], 1, dilation=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / n))

    def _make_layer(self, planes, blocks, stride=1, dilation=1, new_level=True):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes))
        first = (1, 1) if dilation == 1 else (dilation // 2 if new_level else dilation, dilation)
        layers = [DrnBlock(self.inplanes, planes, stride, downsample, dilation=first)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(DrnBlock(self.inplanes, planes, dilation=(dilation, dilation)))
        return nn.Sequential(*layers)

    def _make_conv_layers(self, channels, convs, stride=1, dilation=1):
        modules = []
        for i in range(convs):
            modules.extend([nn.Conv2d(self.inplanes, channels, kernel_size=3,
                                      stride=stride if i == 0 else 1, padding=dilation,
                                      bias=False, dilation=dilation),
                            nn.BatchNorm2d(channels), nn.ReLU(inplace=True)])
            self.inplanes = channels
        return nn.Sequential(*modules)


def fill_up_weights(up):
    w = up.weight.data
    f = math.ceil(w.size(2) / 2)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    for i in range(w.size(2)):
        for j in range(w.size(3)):
            w[0, 0, i, j] = (1 - math.fabs(i / f - c)) * (1 - math.fabs(j / f - c))
    for ch in range(1, w.size(0)):
        w[ch, 0, :, :] = w[0, 0, :, :]


class DrnSeg(nn.Module):
    """Per-pixel logits (N, classes, H, W) for H and W multiples of 8 (fyu/drn's DRNSeg also
    returns its log-softmax; sraal's trains on the logits with cross-entropy, the same loss).
    `dropout` before seg in training (the MC-dropout baselines)."""

    def __init__(self, classes, in_channels, width, dropout=0.0):
        super().__init__()
        channels = [max(1, int(np.floor(c * width + 0.5)))
                    for c in (16, 32, 64, 128, 256, 512, 512, 512)]
        model = DrnD22(channels, in_channels)
        self.base = nn.Sequential(*list(model.children()))
        self.seg = nn.Conv2d(channels[-1], classes, kernel_size=1, bias=True)
        n = self.seg.kernel_size[0] * self.seg.kernel_size[1] * self.seg.out_channels
        self.seg.weight.data.normal_(0, math.sqrt(2.0 / n))
        self.seg.bias.data.zero_()
        self.up = nn.ConvTranspose2d(classes, classes, 16, stride=8, padding=4, output_padding=0,
                                     groups=classes, bias=False)
        fill_up_weights(self.up)
        self.up.weight.requires_grad = False
        self.dropout = dropout

    def forward(self, x):
        h = self.base(x)
        if self.dropout > 0:
            h = F.dropout(h, self.dropout, self.training)
        return self.up(self.seg(h))


# ----------------------------------------------------------------------------- files

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16,
           "BF16": torch.bfloat16, "I32": torch.int32, "I64": torch.int64}


def read_safetensors(path):
    """({name: tensor}, {metadata key: string}) of a .safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        raw = bytearray(data[8 + n + begin:8 + n + end])
        t = torch.frombuffer(raw, dtype=_DTYPES[e["dtype"]]) if raw else \
            torch.empty(0, dtype=_DTYPES[e["dtype"]])
        tensors[name] = t.reshape(e["shape"])
    return tensors, meta


def build(spec):
    """The module a ModelSpec (the "sraal.model" metadata, a dict) describes."""
    arch = spec["arch"]
    if arch in ("resnet18", "resnet18-imagenet"):
        return ResNet18("cifar" if arch == "resnet18" else "imagenet", spec["in_channels"],
                        spec["num_classes"], spec["width_mult"], spec.get("dropout", 0.0))
    if arch == "drn-d-22":
        return DrnSeg(spec["num_classes"], spec["in_channels"], spec["width_mult"],
                      spec.get("dropout", 0.0))
    if arch in ("vae", "sraal-generator"):
        gen = arch == "sraal-generator"
        return Vae(spec["in_channels"], spec["height"], spec["width"], spec["z_dim"],
                   spec["base_width"], gen, spec["num_classes"] if gen else 0,
                   spec.get("classifier_hidden", (1024, 256)),
                   spec.get("dense_classifier", False))
    if arch == "discriminator":
        return Discriminator(spec["z_dim"], spec["disc_width"], spec["disc_depth"])
    raise ValueError(f"unknown model '{arch}'")


def load(path):
    """(module, spec, preprocess or None) of a file written by sraal, its weights loaded with
    strict=True (every name and shape must match)."""
    tensors, meta = read_safetensors(path)
    if "sraal.model" not in meta:
        raise ValueError(f"{path}: no 'sraal.model' metadata (not written by sraal)")
    spec = json.loads(meta["sraal.model"])
    model = build(spec)
    model.load_state_dict(tensors, strict=True)
    pre = json.loads(meta["sraal.preprocess"]) if "sraal.preprocess" in meta else None
    return model, spec, pre


def predict(model, spec, x, probs=False):
    """What `sraal predict` writes for input x: logits (probabilities with probs) of the
    classifiers and DRN, the discriminator's state probability, the VAE's latent means."""
    model.eval()
    with torch.no_grad():
        if isinstance(model, Vae):
            return model.encode(x)[0]
        y = model(x)
        if isinstance(model, Discriminator):
            return torch.sigmoid(y)
        return torch.softmax(y, 1) if probs else y


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights")
    ap.add_argument("--input", help=".npy float32 batch to run the model on")
    ap.add_argument("--output", help="where to write the outputs (.npy)")
    ap.add_argument("--probs", action="store_true")
    a = ap.parse_args()
    model, spec, pre = load(a.weights)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"{a.weights}: {spec['arch']}, {params} parameters, loaded with strict=True")
    if pre:
        print(f"  trained on {pre['dataset']}: {pre['channels']}x{pre['height']}x{pre['width']}, "
              f"mean {pre['mean']}, std {pre['std']}")
    if a.input:
        y = predict(model, spec, torch.from_numpy(np.load(a.input)), a.probs)
        if a.output:
            np.save(a.output, y.numpy())
        print(f"  {a.input} {tuple(np.load(a.input).shape)} -> {tuple(y.shape)}")


if __name__ == "__main__":
    main()
