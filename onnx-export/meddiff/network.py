"""Conditional 3-D U-Net of MedDiff-FM and its ControlNet, written so that torch 1.13 exports
it to ONNX (opset 17) with dynamic batch and spatial size (multiples of 2^(levels-1)).

Inputs (see README / model card): x_t [N,1,D,H,W], t [N] float32 (integer-valued 0..T-1),
pos_embed [N,6L,D,H,W], anatomy [N,1,D,H,W] float32 class index 0..K-1, region [N] int64.
Output eps [N,1,D,H,W].
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


def norm(ch, groups):
    return nn.GroupNorm(min(groups, ch), ch, eps=1e-5)


def zero_module(m):
    for p in m.parameters():
        nn.init.zeros_(p)
    return m


def timestep_embedding(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb, groups, dropout=0.0):
        super().__init__()
        self.n1 = norm(cin, groups)
        self.c1 = nn.Conv3d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(temb, cout)
        self.n2 = norm(cout, groups)
        self.drop = nn.Dropout(dropout)
        self.c2 = zero_module(nn.Conv3d(cout, cout, 3, padding=1))
        self.skip = nn.Conv3d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None, None]
        h = self.c2(self.drop(F.silu(self.n2(h))))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over all voxels (explicit matmul + softmax: torch 1.13 has no SDPA)."""

    def __init__(self, ch, heads, groups):
        super().__init__()
        self.heads = heads
        self.ch = ch
        self.n = norm(ch, groups)
        self.qkv = nn.Conv3d(ch, 3 * ch, 1)
        self.proj = zero_module(nn.Conv3d(ch, ch, 1))

    def forward(self, x):
        B, C = x.shape[0], self.ch
        qkv = self.qkv(self.n(x)).reshape(B, 3, self.heads, C // self.heads, -1)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]  # B, h, c, n
        scale = 1.0 / math.sqrt(math.sqrt(C // self.heads))
        w = torch.softmax(torch.matmul((q * scale).transpose(-1, -2), k * scale), dim=-1)  # B,h,n,n
        h = torch.matmul(v, w.transpose(-1, -2))  # B,h,c,n
        h = h.reshape(B, C, x.shape[2], x.shape[3], x.shape[4])
        return x + self.proj(h)


class Down(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv3d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Up(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv3d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    """conv_in + per level one ResBlock (+attention at the lowest level) + downsampling."""

    def __init__(self, cfg, in_ch):
        super().__init__()
        b, mult, g = cfg["base_channels"], cfg["channel_mult"], cfg["groups"]
        temb = 4 * b
        self.conv_in = nn.Conv3d(in_ch, b, 3, padding=1)
        self.blocks = nn.ModuleList()
        self.attn = nn.ModuleList()
        self.downs = nn.ModuleList()
        self.skip_ch = [b]
        ch = b
        nl = len(mult)
        for lvl, m in enumerate(mult):
            self.blocks.append(ResBlock(ch, b * m, temb, g, cfg.get("dropout", 0.0)))
            ch = b * m
            self.attn.append(Attention(ch, cfg["heads"], g) if lvl == nl - 1 else nn.Identity())
            self.skip_ch.append(ch)
            if lvl < nl - 1:
                self.downs.append(Down(ch))
                self.skip_ch.append(ch)
        self.out_ch = ch

    def forward(self, x, emb, first_add=None):
        h = self.conv_in(x)
        if first_add is not None:
            h = h + first_add
        hs = [h]
        for lvl in range(len(self.blocks)):
            h = self.attn[lvl](self.blocks[lvl](h, emb))
            hs.append(h)
            if lvl < len(self.downs):
                h = self.downs[lvl](h)
                hs.append(h)
        return h, hs


class MedDiffUNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        b, mult, g = cfg["base_channels"], cfg["channel_mult"], cfg["groups"]
        temb = 4 * b
        self.L = cfg["pe_L"]
        self.n_anat = cfg["anatomy_classes"]
        in_ch = 1 + 6 * self.L + 1
        self.time_mlp = nn.Sequential(nn.Linear(b, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.region_emb = nn.Embedding(cfg["region_classes"], temb)
        self.enc = Encoder(cfg, in_ch)
        ch = self.enc.out_ch
        self.mid1 = ResBlock(ch, ch, temb, g)
        self.mid_attn = Attention(ch, cfg["heads"], g)
        self.mid2 = ResBlock(ch, ch, temb, g)
        skips = list(self.enc.skip_ch)
        self.dec = nn.ModuleList()
        self.dec_attn = nn.ModuleList()
        self.ups = nn.ModuleList()
        nl = len(mult)
        for lvl in reversed(range(nl)):
            blocks = nn.ModuleList()
            for i in range(2):  # num_res_blocks + 1
                sc = skips.pop()
                blocks.append(ResBlock(ch + sc, b * mult[lvl], temb, g))
                ch = b * mult[lvl]
            self.dec.append(blocks)
            self.dec_attn.append(Attention(ch, cfg["heads"], g) if lvl == nl - 1 else nn.Identity())
            self.ups.append(Up(ch) if lvl > 0 else nn.Identity())
        assert not skips  # 2 per level: [conv_in, res0, down0, res1, ..., res_last]
        self.out = nn.Sequential(norm(ch, g), nn.SiLU(), zero_module(nn.Conv3d(ch, 1, 3, padding=1)))

    def embed(self, t, region):
        emb = self.time_mlp(timestep_embedding(t, self.cfg["base_channels"]))
        return emb + self.region_emb(region)

    def inputs(self, x_t, pos_embed, anatomy):
        a = anatomy * (2.0 / max(self.n_anat - 1, 1)) - 1.0  # class index -> [-1, 1]
        return torch.cat([x_t, pos_embed, a], dim=1)

    def decode(self, h, hs, emb, skip_adds=None, mid_add=None):
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        if mid_add is not None:
            h = h + mid_add
        hs = list(hs)
        if skip_adds is not None:
            hs = [a + b for a, b in zip(hs, skip_adds)]
        for i, blocks in enumerate(self.dec):
            for blk in blocks:
                h = blk(torch.cat([h, hs.pop()], dim=1), emb)
            h = self.dec_attn[i](h)
            if not isinstance(self.ups[i], nn.Identity):
                h = self.ups[i](h)
        return self.out(h)

    def forward(self, x_t, t, pos_embed, anatomy, region):
        emb = self.embed(t, region)
        h, hs = self.enc(self.inputs(x_t, pos_embed, anatomy), emb)
        return self.decode(h, hs, emb)


class ControlNetSR(nn.Module):
    """Locked base U-Net + trainable encoder copy fed with the condition through a small
    target encoder; zero-initialised 1x1x1 convolutions add its features to the skips and
    to the middle block output of the locked U-Net."""

    def __init__(self, base: MedDiffUNet):
        super().__init__()
        cfg = base.cfg
        self.cfg = dict(cfg)
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        b = cfg["base_channels"]
        self.ctrl_enc = Encoder(cfg, 1 + 6 * cfg["pe_L"] + 1)
        self.ctrl_enc.load_state_dict(base.enc.state_dict())
        self.ctrl_time_mlp = nn.Sequential(nn.Linear(b, 4 * b), nn.SiLU(), nn.Linear(4 * b, 4 * b))
        self.ctrl_time_mlp.load_state_dict(base.time_mlp.state_dict())
        self.ctrl_region = nn.Embedding(cfg["region_classes"], 4 * b)
        self.ctrl_region.load_state_dict(base.region_emb.state_dict())
        self.ctrl_mid = ResBlock(self.ctrl_enc.out_ch, self.ctrl_enc.out_ch, 4 * b, cfg["groups"])
        self.ctrl_mid.load_state_dict(base.mid1.state_dict())
        hid = max(8, b // 2)
        self.target_enc = nn.Sequential(
            nn.Conv3d(1, hid, 3, padding=1), nn.SiLU(),
            nn.Conv3d(hid, hid, 3, padding=1), nn.SiLU(),
            zero_module(nn.Conv3d(hid, b, 3, padding=1)))
        self.zero_convs = nn.ModuleList([zero_module(nn.Conv3d(c, c, 1)) for c in self.ctrl_enc.skip_ch])
        self.zero_mid = zero_module(nn.Conv3d(self.ctrl_enc.out_ch, self.ctrl_enc.out_ch, 1))

    def trainable_parameters(self):
        return [p for n, p in self.named_parameters() if not n.startswith("base.")]

    def train(self, mode=True):
        super().train(mode)
        self.base.eval()
        return self

    def forward(self, x_t, t, pos_embed, anatomy, region, condition):
        base = self.base
        emb = base.embed(t, region)
        cemb = self.ctrl_time_mlp(timestep_embedding(t, self.cfg["base_channels"])) + self.ctrl_region(region)
        inp = base.inputs(x_t, pos_embed, anatomy)
        ch, chs = self.ctrl_enc(inp, cemb, first_add=self.target_enc(condition))
        skip_adds = [zc(hh) for zc, hh in zip(self.zero_convs, chs)]
        mid_add = self.zero_mid(self.ctrl_mid(ch, cemb))
        h, hs = base.enc(inp, emb)
        return base.decode(h, hs, emb, skip_adds=skip_adds, mid_add=mid_add)


def build_model(cfg):
    return MedDiffUNet(cfg)
