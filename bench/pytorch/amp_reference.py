"""PyTorch reference for `segcluster-bench amp`: training images/s and peak CUDA memory of DeepLabV3+ (ResNet-50)
and an SPGNet-like two-stage network (2x ResNet-50) in fp32 and autocast bf16 + channels_last, same size and batch.

Closest equivalents of SegCluster's networks with torchvision's ResNet-50 (no pretrained weights, BatchNorm):
- deeplabv3plus: ResNet-50 output stride 16 (dilated layer4), ASPP (rates 6/12/18 + pooling, 256 ch), 48-ch low-level
  projection from layer1, two 3x3 fuse convs, 1x1 classifier, bilinear upsample of the logits to the input size.
- spgnet: two ResNet-50 encoder-decoder stages; stage 2 consumes the image and adds stage 1's level features
  (1x1 projections), both stages predict (auxiliary loss 0.4), as SegCluster's SpgNet.
Run on the GPU machine: python3 bench/pytorch/amp_reference.py --height 512 --width 1024 --batch 8 --out bench/results/amp-pytorch.json
"""
import argparse, json, time
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def resnet50_levels(dilate_last: bool):
    net = torchvision.models.resnet50(weights=None, replace_stride_with_dilation=[False, False, dilate_last])
    stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
    return stem, nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])


def conv_bn_relu(i, o, k=3, d=1):
    return nn.Sequential(nn.Conv2d(i, o, k, padding=d * (k // 2), dilation=d, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class DeepLabV3Plus(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.stem, self.levels = resnet50_levels(dilate_last=True)
        self.aspp = nn.ModuleList([conv_bn_relu(2048, 256, 1)] + [conv_bn_relu(2048, 256, 3, r) for r in (6, 12, 18)])
        self.pool = conv_bn_relu(2048, 256, 1)
        self.project = conv_bn_relu(5 * 256, 256, 1)
        self.low = conv_bn_relu(256, 48, 1)
        self.fuse = nn.Sequential(conv_bn_relu(256 + 48, 256), conv_bn_relu(256, 256))
        self.classifier = nn.Conv2d(256, classes, 1)

    def forward(self, x):
        size = x.shape[-2:]
        y = self.stem(x)
        feats = []
        for level in self.levels:
            y = level(y)
            feats.append(y)
        top = feats[-1]
        pooled = F.interpolate(self.pool(F.adaptive_avg_pool2d(top, 1)), top.shape[-2:], mode="bilinear", align_corners=False)
        context = self.project(torch.cat([b(top) for b in self.aspp] + [pooled], 1))
        low = self.low(feats[0])
        fused = self.fuse(torch.cat([F.interpolate(context, low.shape[-2:], mode="bilinear", align_corners=False), low], 1))
        return [F.interpolate(self.classifier(fused).float(), size, mode="bilinear", align_corners=False)]


class Stage(nn.Module):
    def __init__(self, classes, guided):
        super().__init__()
        self.stem, self.levels = resnet50_levels(dilate_last=False)
        self.guides = nn.ModuleList([nn.Conv2d(c, c, 1, bias=False) for c in (256, 512, 1024, 2048)]) if guided else None
        self.lateral = nn.ModuleList([conv_bn_relu(c, 128, 1) for c in (256, 512, 1024, 2048)])
        self.classifier = nn.Conv2d(128, classes, 1)

    def forward(self, x, previous=None):
        y = self.stem(x)
        feats = []
        for i, level in enumerate(self.levels):
            y = level(y)
            if previous is not None:
                y = y + self.guides[i](previous[i])
            feats.append(y)
        top = self.lateral[3](feats[3])
        for i in (2, 1, 0):
            top = F.interpolate(top, feats[i].shape[-2:], mode="bilinear", align_corners=False) + self.lateral[i](feats[i])
        return feats, self.classifier(top)


class SpgNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.first, self.second = Stage(classes, False), Stage(classes, True)

    def forward(self, x):
        size = x.shape[-2:]
        feats, aux = self.first(x)
        _, logits = self.second(x, feats)
        up = lambda t: F.interpolate(t.float(), size, mode="bilinear", align_corners=False)
        return [up(logits), up(aux)]


def measure(name, precision, channels_last, args):
    torch.manual_seed(1)
    model = (DeepLabV3Plus if name == "deeplabv3plus" else SpgNet)(19).cuda()
    x = torch.randn(args.batch, 3, args.height, args.width, device="cuda")
    labels = torch.randint(0, 19, (args.batch, args.height, args.width), device="cuda")
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    dtype = {"bf16-mixed": torch.bfloat16, "fp16-mixed": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16-mixed")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
            outs = model(x)
        loss = sum(w * F.cross_entropy(o.float(), labels) for w, o in zip((1.0, 0.4), outs))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss.item()  # synchronises, as SegCluster's step does

    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return args.steps * args.batch / elapsed, torch.cuda.max_memory_allocated()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="spgnet,deeplabv3plus")
    p.add_argument("--precisions", default="fp32,bf16-mixed")
    p.add_argument("--formats", default="contiguous,channels_last")
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--width", type=int, default=1024)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--out", default="bench/results/amp-pytorch.json")
    args = p.parse_args()
    torch.backends.cudnn.benchmark = True
    rows = []
    for name in args.models.split(","):
        for precision in args.precisions.split(","):
            for fmt in args.formats.split(","):
                ips, peak = measure(name, precision, fmt == "channels_last", args)
                rows.append(dict(model=name, backbone="resnet50", precision=precision, memory_format=fmt, images_per_second=ips, peak_memory_bytes=peak))
                print(f"{name:14} {precision:11} {fmt:14} {ips:8.2f} img/s  peak {peak / 2**20:9.1f} MiB", flush=True)
                torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump(dict(bench="amp-pytorch", torch=torch.__version__, device=torch.cuda.get_device_name(), height=args.height,
                       width=args.width, batch=args.batch, steps=args.steps, warmup=args.warmup,
                       memory="peak_memory_bytes = torch.cuda.max_memory_allocated over the timed steps", rows=rows), f, indent=2)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
