"""PyTorch reference for `segcluster-bench amp`: training images/s and peak CUDA memory of SegCluster's SPGNet and
DeepLabV3+ (ResNet-50, width 64, 19 classes, BatchNorm) in fp32 and autocast bf16, contiguous or channels_last, at the
same size and batch, with the same loss and optimiser as the bench's trainer.

The networks are ports of what SegCluster builds for `amp` (ModelOptions(name, 19, 64, BatchNorm, "resnet50")), module
for module, so that the parameter counts are equal (each row records `parameters`; bench/gpu/summary.py refuses a
ratio when they differ; `expected_parameters` below is the arithmetic):
- spgnet (src/SegCluster.Vision/Models/SpgNet.cs): two torchvision ResNet-50 encoders at output stride 32 (strides
  4/8/16/32, channels 256/512/1024/2048). Each stage's LightDecoder (Decoders/LightDecoder.cs): top = 1x1 conv + BN
  (2048 -> 128) + ReLU, then per finer level an UpsampleModule (bilinear x2 + Projection(c -> 128) of the encoder
  feature, then a ResidualBlock of two 3x3 convs + BN at 128 channels); D = 2 * width = 128, decoded down to stride 4.
  SPG (Decoders/SemanticPredictionGuidance.cs) on stage 1's stride-4 decoder feature F: P = Conv1x1(F) (19, biased),
  A = sigmoid(Conv1x1(P)) (128, biased), F' = F + F * A. Stage 2's encoder adds after each of its layers
  (Backbones/CrossStageAggregation.cs) Projection(c -> c)(stage-1 encoder feature) + Projection(128 -> c)(stage-1
  decoder feature, F' at stride 4), and the sum feeds the next layer. Head: 1x1 conv (128 -> 19, biased) on stage 2's
  stride-4 decoder feature, bilinear to the input size. Projection = 1x1 conv without bias + BatchNorm.
- deeplabv3plus (Models/DeepLabV3Plus.cs): ResNet-50 at output stride 16 (layer4 dilated), ASPP (1x1, rates 6/12/18,
  image pooling; 256 channels; 1x1 projection of the 1280), 48-channel 1x1 low-level projection of layer1, two 3x3
  fuse convs (304 -> 256 -> 256), 1x1 classifier (biased), bilinear to the input size.
Loss (Losses/SegmentationCriterion.cs, LossOptions()): CE of the full-resolution logits (ignore 255) + 0.4 x CE of the
SPG prediction P on its own stride-4 grid against the nearest-downsampled labels (labels[:, ::4, ::4], PyTorch's
"nearest" at an integer factor). Optimiser (Training/OptimizerOptions.cs defaults, SgdMomentum): SGD lr 0.01,
momentum 0.9, weight decay 1e-4 on every parameter, no Nesterov, dampening 0.
Precision (Training/Precision/MixedPrecisionPolicy.cs): convs in bf16 (autocast), classifiers (head and P) return
fp32, so the upsampling and the losses run in fp32.
Memory: peak_memory_bytes = torch.cuda.max_memory_allocated (tensors only), plus max_memory_reserved and the NVML
device-used peak sampled after every step, warm-up included, as SegCluster's bench samples it (`nvml_peak_used_bytes`;
null without pynvml). Compare NVML with NVML, one process per configuration (bench/gpu/session.sh runs it so).
cudnn.benchmark is off by default (--cudnn-benchmark 0), as TorchSharp 0.107 cannot set it: like for like.
Run on the GPU machine: python3 bench/pytorch/amp_reference.py --height 512 --width 1024 --batch 8 --out bench/results/amp-pytorch.json
"""
import argparse, gc, json, os, time

RESNET50_BLOCKS = (3, 4, 6, 3)
LEVEL_CHANNELS = (256, 512, 1024, 2048)  # ResNet-50 at width 64: 4 * (64, 128, 256, 512)


def expected_parameters(model: str, classes: int = 19) -> int:
    """Trainable elements of SegCluster's model at width 64 with a ResNet-50 backbone, by arithmetic (no torch).
    spgnet: 55,858,598 and deeplabv3plus: 40,351,667 at 19 classes, equal to `segcluster model info --model M
    --backbone resnet50 --width 64 --classes 19` (SegmentationModel.ParameterCount)."""
    def conv(i, o, k=1, bias=False):
        return i * o * k * k + (o if bias else 0)

    def bn(c):
        return 2 * c

    def resnet50():  # torchvision's without fc
        total, inplanes = conv(3, 64, 7) + bn(64), 64
        for planes, blocks in zip((64, 128, 256, 512), RESNET50_BLOCKS):
            for b in range(blocks):
                total += conv(inplanes, planes) + bn(planes) + conv(planes, planes, 3) + bn(planes) + conv(planes, 4 * planes) + bn(4 * planes)
                if b == 0:
                    total += conv(inplanes, 4 * planes) + bn(4 * planes)  # downsample
                inplanes = 4 * planes
        return total

    def projection(i, o):
        return conv(i, o) + bn(o)

    if model == "spgnet":
        d = 128
        decoder = projection(LEVEL_CHANNELS[-1], d) + sum(projection(c, d) + 2 * (conv(d, d, 3) + bn(d)) for c in LEVEL_CHANNELS[:-1])
        spg = conv(d, classes, bias=True) + conv(classes, d, bias=True)
        aggregation = sum(projection(c, c) + projection(d, c) for c in LEVEL_CHANNELS)
        head = conv(d, classes, bias=True)
        return 2 * resnet50() + 2 * decoder + spg + aggregation + head
    if model == "deeplabv3plus":
        a, low, top = 256, 48, LEVEL_CHANNELS[-1]
        aspp = conv(top, a) + bn(a) + 3 * (conv(top, a, 3) + bn(a)) + conv(top, a) + bn(a) + conv(5 * a, a) + bn(a)
        decoder = conv(LEVEL_CHANNELS[0], low) + bn(low) + conv(a + low, a, 3) + bn(a) + conv(a, a, 3) + bn(a)
        return resnet50() + aspp + decoder + conv(a, classes, bias=True)
    raise ValueError(f"unknown model {model!r}; use spgnet or deeplabv3plus")


def build(name, classes):
    """The torch modules (imported here so that expected_parameters runs without torch)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision

    def resnet50(output_stride):
        net = torchvision.models.resnet50(weights=None, replace_stride_with_dilation=[False, output_stride == 8, output_stride <= 16])
        return nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool), nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])

    def conv_bn_relu(i, o, k=3, d=1):
        return nn.Sequential(nn.Conv2d(i, o, k, padding=d * (k // 2), dilation=d, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

    def projection(i, o):  # Layers.Projection: 1x1 conv (no bias) + norm
        return nn.Sequential(nn.Conv2d(i, o, 1, bias=False), nn.BatchNorm2d(o))

    def resize(x, size):
        return F.interpolate(x, size, mode="bilinear", align_corners=False)

    def encode(stem, levels, x):  # the encoder's features at every level, finest first
        y, feats = stem(x), []
        for level in levels:
            y = level(y)
            feats.append(y)
        return feats

    class ResidualBlock(nn.Module):  # Backbones/ResidualBlock.cs, in == out channels, stride 1: no shortcut projection
        def __init__(self, c):
            super().__init__()
            self.conv1, self.norm1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
            self.conv2, self.norm2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

        def forward(self, x):
            y = F.relu(self.norm1(self.conv1(x)))
            return F.relu(x + self.norm2(self.conv2(y)))

    class UpsampleModule(nn.Module):
        def __init__(self, skip_channels, c):
            super().__init__()
            self.skip, self.block = projection(skip_channels, c), ResidualBlock(c)

        def forward(self, x, encoder_feature):
            return self.block(resize(x, encoder_feature.shape[-2:]) + self.skip(encoder_feature))

    class LightDecoder(nn.Module):  # stop level 0 (label factor 1), no truncation
        def __init__(self, channels, d):
            super().__init__()
            self.top = nn.Sequential(projection(channels[-1], d), nn.ReLU(inplace=True))
            self.up = nn.ModuleList([UpsampleModule(channels[len(channels) - 2 - i], d) for i in range(len(channels) - 1)])

        def forward(self, features):
            x = self.top(features[-1])
            outputs = [None] * len(features)
            outputs[-1] = x
            for i, up in enumerate(self.up):
                level = len(features) - 2 - i
                x = up(x, features[level])
                outputs[level] = x
            return outputs  # finest first

    class SemanticPredictionGuidance(nn.Module):
        def __init__(self, d, k):
            super().__init__()
            self.predict, self.attend = nn.Conv2d(d, k, 1), nn.Conv2d(k, d, 1)

        def forward(self, f):
            p = self.predict(f).float()  # classifiers return fp32 (MixedPrecisionPolicy)
            a = torch.sigmoid(self.attend(p))
            return f + f * a, p

    class SpgNet(nn.Module):
        def __init__(self, k):
            super().__init__()
            d = 128
            self.stem1, self.levels1 = resnet50(32)
            self.decoder1 = LightDecoder(LEVEL_CHANNELS, d)
            self.spg = SemanticPredictionGuidance(d, k)
            self.stem2, self.levels2 = resnet50(32)
            self.encoder_lateral = nn.ModuleList([projection(c, c) for c in LEVEL_CHANNELS])
            self.decoder_lateral = nn.ModuleList([projection(d, c) for c in LEVEL_CHANNELS])
            self.decoder2 = LightDecoder(LEVEL_CHANNELS, d)
            self.head = nn.Conv2d(d, k, 1)

        def forward(self, x):
            size = x.shape[-2:]
            enc1 = encode(self.stem1, self.levels1, x)
            dec1 = self.decoder1(enc1)
            dec1[0], prediction = self.spg(dec1[0])  # stride 4
            y, enc2 = self.stem2(x), []
            for i, level in enumerate(self.levels2):
                y = level(y) + self.encoder_lateral[i](enc1[i]) + self.decoder_lateral[i](dec1[i])
                enc2.append(y)
            dec2 = self.decoder2(enc2)
            return resize(self.head(dec2[0]).float(), size), prediction  # (B, K, H, W), (B, K, H/4, W/4)

    class DeepLabV3Plus(nn.Module):
        def __init__(self, k):
            super().__init__()
            self.stem, self.levels = resnet50(16)
            self.aspp = nn.ModuleList([conv_bn_relu(2048, 256, 1)] + [conv_bn_relu(2048, 256, 3, r) for r in (6, 12, 18)])
            self.pool = conv_bn_relu(2048, 256, 1)
            self.project = conv_bn_relu(5 * 256, 256, 1)
            self.low = conv_bn_relu(256, 48, 1)
            self.fuse = nn.Sequential(conv_bn_relu(256 + 48, 256), conv_bn_relu(256, 256))
            self.classifier = nn.Conv2d(256, k, 1)

        def forward(self, x):
            size = x.shape[-2:]
            feats = encode(self.stem, self.levels, x)
            top = feats[-1]
            pooled = resize(self.pool(F.adaptive_avg_pool2d(top, 1)), top.shape[-2:])
            context = self.project(torch.cat([b(top) for b in self.aspp] + [pooled], 1))
            low = self.low(feats[0])
            fused = self.fuse(torch.cat([resize(context, low.shape[-2:]), low], 1))
            return resize(self.classifier(fused).float(), size), None

    return {"spgnet": SpgNet, "deeplabv3plus": DeepLabV3Plus}[name](classes)


class NvmlPeak:
    """Highest NVML used memory of the GPU (whole device), sampled by sample(); None without pynvml."""

    def __init__(self, torch):
        self.handle, self.peak = None, 0
        try:
            import pynvml
            pynvml.nvmlInit()
            # torch's device 0 by PCI address (torch >= 2.2 gives domain, bus, device as ints), else NVML's index
            props = torch.cuda.get_device_properties(0)
            try:
                bus = f"{props.pci_domain_id:08X}:{props.pci_bus_id:02X}:{props.pci_device_id:02X}.0"
                self.handle = pynvml.nvmlDeviceGetHandleByPciBusId(bus)
            except Exception:
                self.handle = None
            if self.handle is None:
                visible = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0]
                self.handle = pynvml.nvmlDeviceGetHandleByIndex(int(visible) if visible.isdigit() else 0)
            self.nvml = pynvml
        except Exception as e:  # no pynvml / no NVML: the row says null
            print(f"NVML unavailable ({e.__class__.__name__}: {e}); nvml_peak_used_bytes will be null", flush=True)
            self.handle = None

    def sample(self):
        if self.handle is not None:
            self.peak = max(self.peak, self.nvml.nvmlDeviceGetMemoryInfo(self.handle).used)

    def value(self):
        return self.peak if self.handle is not None else None


def measure(name, precision, channels_last, args, nvml):
    import torch
    import torch.nn.functional as F
    torch.manual_seed(1)
    model = build(name, 19).cuda()
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    x = torch.randn(args.batch, 3, args.height, args.width, device="cuda")
    labels = torch.randint(0, 19, (args.batch, args.height, args.width), device="cuda")
    aux_labels = labels[:, ::4, ::4].contiguous()  # SegmentationCriterion.DownsampleLabels: nearest at factor 4
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4, nesterov=False)
    dtype = {"bf16-mixed": torch.bfloat16, "fp16-mixed": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16-mixed")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
            logits, prediction = model(x)
        loss = F.cross_entropy(logits.float(), labels, ignore_index=255)
        if prediction is not None:
            loss = loss + 0.4 * F.cross_entropy(prediction.float(), aux_labels, ignore_index=255)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        value = loss.item()  # synchronises, as SegCluster's step does
        nvml.sample()
        return value

    torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    row = dict(parameters=parameters, expected_parameters=expected_parameters(name, 19),
               images_per_second=args.steps * args.batch / elapsed, peak_memory_bytes=torch.cuda.max_memory_allocated(),
               peak_reserved_bytes=torch.cuda.max_memory_reserved())
    del model, opt, x, labels, aux_labels
    gc.collect()
    torch.cuda.empty_cache()
    return row


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
    p.add_argument("--cudnn-benchmark", type=int, choices=(0, 1), default=0,
                   help="torch.backends.cudnn.benchmark; 0 (default) as SegCluster, whose TorchSharp cannot set it")
    p.add_argument("--out", default="bench/results/amp-pytorch.json")
    args = p.parse_args()
    import torch
    torch.backends.cudnn.benchmark = bool(args.cudnn_benchmark)
    nvml = NvmlPeak(torch)
    rows = []
    for name in args.models.split(","):
        for precision in args.precisions.split(","):
            for fmt in args.formats.split(","):
                nvml.peak = 0
                row = measure(name, precision, fmt == "channels_last", args, nvml)
                row = dict(model=name, backbone="resnet50", precision=precision, memory_format=fmt, nvml_peak_used_bytes=nvml.value(), **row)
                rows.append(row)
                nv = f"{row['nvml_peak_used_bytes'] / 2**20:9.1f} MiB" if row["nvml_peak_used_bytes"] is not None else "      n/a"
                mismatch = "" if row["parameters"] == row["expected_parameters"] else f" (expected {row['expected_parameters']:,}: NOT SegCluster's network)"
                print(f"{name:14} {precision:11} {fmt:14} {row['images_per_second']:8.2f} img/s  peak {row['peak_memory_bytes'] / 2**20:9.1f} MiB"
                      f"  reserved {row['peak_reserved_bytes'] / 2**20:9.1f} MiB  NVML {nv}  params {row['parameters']:,}"
                      f"{mismatch}", flush=True)
    with open(args.out, "w") as f:
        json.dump(dict(bench="amp-pytorch", torch=torch.__version__, device=torch.cuda.get_device_name(), height=args.height,
                       width=args.width, batch=args.batch, steps=args.steps, warmup=args.warmup,
                       cudnn_benchmark=bool(args.cudnn_benchmark), tf32_convolutions=torch.backends.cudnn.allow_tf32,
                       optimizer="SGD lr 0.01 momentum 0.9 weight_decay 1e-4, no Nesterov",
                       loss="CE(logits, labels) + 0.4 CE(P at stride 4, labels[:, ::4, ::4]) (spgnet)",
                       memory="peak_memory_bytes = torch.cuda.max_memory_allocated (tensors only); peak_reserved_bytes = "
                              "max_memory_reserved (caching allocator); nvml_peak_used_bytes = highest NVML used memory of the "
                              "GPU sampled after each step, warm-up included (whole device, as SegCluster's peak_memory_bytes)",
                       rows=rows), f, indent=2)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
