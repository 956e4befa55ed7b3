"""CT data: readers (DICOM series, NIfTI, NRRD), resampling to 1 mm, region windows,
HU-threshold anatomy classes, multi-level training views with the global coordinate grid.

Array convention everywhere: numpy [D, H, W] = [z, y, x], spacing (sz, sy, sx) in mm, HU float32.
"""
import gzip
import glob
import os
import json
import numpy as np
from scipy import ndimage

from . import SHARED_DIR
from .posembed import axis_coords, view_pe

# ---------------------------------------------------------------- region classes and windows
REGIONS = ["HaN", "chest", "abdomen"]          # region index = position in this list
WINDOWS = {"HaN": (50.0, 400.0), "chest": (-500.0, 1800.0), "abdomen": (60.0, 360.0)}  # (level, width)

# ---------------------------------------------------------------- anatomy classes (HU thresholds)
ANATOMY_CLASSES = ["outside_body", "air_lung", "fat", "soft_tissue", "bone"]
BODY_HU = -500.0
ANAT_EDGES = (-400.0, -30.0, 200.0)  # inside body: <-400 air/lung, <-30 fat, <200 soft tissue, else bone


def normalize(hu, region, clip=True):
    level, width = WINDOWS[region]
    x = (np.asarray(hu, dtype=np.float32) - (level - width / 2.0)) / width * 2.0 - 1.0
    return np.clip(x, -1.0, 1.0) if clip else x


def denormalize(x, region):
    level, width = WINDOWS[region]
    return (np.asarray(x, dtype=np.float32) + 1.0) / 2.0 * width + (level - width / 2.0)


def body_mask(hu):
    """HU > -500, holes filled slice by slice (axial, 2-D), largest 6-connected 3-D component."""
    m = hu > BODY_HU
    m = np.stack([ndimage.binary_fill_holes(s) for s in m])
    lab, n = ndimage.label(m)
    if n > 1:
        sizes = ndimage.sum(m, lab, index=np.arange(1, n + 1))
        m = lab == (1 + int(np.argmax(sizes)))
    return m


def anatomy_map(hu):
    """float32 class index map (see ANATOMY_CLASSES)."""
    body = body_mask(hu)
    cls = np.full(hu.shape, 4, dtype=np.float32)
    cls[hu < ANAT_EDGES[2]] = 3
    cls[hu < ANAT_EDGES[1]] = 2
    cls[hu < ANAT_EDGES[0]] = 1
    cls[~body] = 0
    return cls


# ---------------------------------------------------------------- readers
def read_nifti(path):
    import nibabel as nib
    img = nib.as_closest_canonical(nib.load(path))  # RAS+
    a = np.asarray(img.dataobj, dtype=np.float32)  # [x, y, z] RAS
    sp = img.header.get_zooms()[:3]
    # to [z, y, x] with z inferior->superior flipped to superior->inferior, y anterior->posterior
    a = a.transpose(2, 1, 0)[::-1, ::-1, ::-1]  # -> superior..inferior, anterior..posterior, right..left (like DICOM)
    return np.ascontiguousarray(a), (float(sp[2]), float(sp[1]), float(sp[0]))


def read_nrrd(path):
    with open(path, "rb") as f:
        raw = f.read()
    head, _, body = raw.partition(b"\n\n")
    hdr = {}
    for line in head.decode("latin-1").splitlines()[1:]:
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            hdr[k.strip().lower()] = v.strip().lstrip("=").strip()
    sizes = [int(s) for s in hdr["sizes"].split()]
    dt = {"short": "<i2", "int16": "<i2", "signed short": "<i2", "ushort": "<u2", "unsigned short": "<u2", "uint16": "<u2",
          "int": "<i4", "int32": "<i4", "float": "<f4", "double": "<f8", "uchar": "u1", "unsigned char": "u1",
          "char": "i1"}[hdr["type"].lower()]
    if hdr.get("endian", "little") == "big":
        dt = dt.replace("<", ">")
    if hdr.get("encoding", "raw") in ("gzip", "gz"):
        body = gzip.decompress(body)
    a = np.frombuffer(body, dtype=dt)[: int(np.prod(sizes))].reshape(sizes[::-1]).astype(np.float32)
    if "space directions" in hdr:
        vecs = [np.array([float(x) for x in v.strip("()").split(",")]) for v in hdr["space directions"].replace(") (", ")|(").split("|")]
        sp = [float(np.linalg.norm(v)) for v in vecs]
    else:
        sp = [float(x) for x in hdr.get("spacings", "1 1 1").split()]
    # LPS raw order (x fastest): flip z so that index 0 is superior, like the other readers
    return np.ascontiguousarray(a[::-1]), (sp[2], sp[1], sp[0])


def read_dicom_series(folder, dz=None):
    """Reads a CT series (any transfer syntax pydicom can decode), sorts by position along the
    slice normal and interpolates linearly onto a regular z grid (step dz, default median step).
    Irregular steps are handled; gantry tilt is ignored (the in-plane shear is not corrected)."""
    import pydicom
    files = [p for p in sorted(glob.glob(os.path.join(folder, "*"))) if os.path.isfile(p)]
    slices = []
    for p in files:
        try:
            ds = pydicom.dcmread(p)
        except Exception:
            continue
        if "PixelData" not in ds:
            continue
        slices.append(ds)
    iop = np.array(slices[0].ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(iop[:3], iop[3:])
    pos = np.array([float(np.dot(normal, np.array(s.ImagePositionPatient, dtype=np.float64))) for s in slices])
    order = np.argsort(pos)
    pos = pos[order]
    imgs = []
    for i in order:
        s = slices[i]
        a = s.pixel_array.astype(np.float32) * float(getattr(s, "RescaleSlope", 1)) + float(getattr(s, "RescaleIntercept", 0))
        imgs.append(a)
    vol = np.stack(imgs)
    keep = np.concatenate([[True], np.diff(pos) > 1e-3])
    vol, pos = vol[keep], pos[keep]
    steps = np.diff(pos)
    step = float(np.median(steps)) if dz is None else float(dz)
    if len(pos) > 1 and (np.ptp(steps) > 0.01 * step or dz is not None):
        zq = np.arange(pos[0], pos[-1] + 1e-6, step)
        idx = np.clip(np.searchsorted(pos, zq) - 1, 0, len(pos) - 2)
        w = ((zq - pos[idx]) / (pos[idx + 1] - pos[idx])).astype(np.float32)[:, None, None]
        vol = vol[idx] * (1 - w) + vol[idx + 1] * w
    ps = [float(x) for x in slices[0].PixelSpacing]
    # sort superior->inferior like the NIfTI reader (patient z decreasing)
    return np.ascontiguousarray(vol[::-1]), (step, ps[0], ps[1])


def read_volume(path):
    if os.path.isdir(path):
        return read_dicom_series(path)
    if path.endswith((".nii", ".nii.gz")):
        return read_nifti(path)
    if path.endswith(".nrrd"):
        return read_nrrd(path)
    if path.endswith(".npz.xz"):
        from .stage import read_case
        return read_case(path)
    raise ValueError("unsupported volume: " + path)


def resample(vol, spacing, new=(1.0, 1.0, 1.0), order=1):
    """Resample so that voxel centres keep the first voxel fixed; size = round(n*sp/new)."""
    shape = [max(1, int(round(n * s / t))) for n, s, t in zip(vol.shape, spacing, new)]
    coords = [np.arange(m) * t / s for m, s, t in zip(shape, spacing, new)]
    coords = [np.clip(c, 0, n - 1) for c, n in zip(coords, vol.shape)]
    out = vol
    for ax in range(3):  # separable linear interpolation
        out = _interp_axis(out, coords[ax], ax)
    return out


def _interp_axis(a, c, ax):
    i0 = np.floor(c).astype(np.int64)
    i1 = np.minimum(i0 + 1, a.shape[ax] - 1)
    w = (c - i0).astype(np.float32)
    sh = [1, 1, 1]
    sh[ax] = -1
    w = w.reshape(sh)
    return (np.take(a, i0, axis=ax) * (1 - w) + np.take(a, i1, axis=ax) * w).astype(np.float32)


# ---------------------------------------------------------------- dataset catalogue + split
CT = os.path.join(SHARED_DIR, "data", "ct")
# name, relative path, region, split. Mayo data is never listed here (evaluation only, not trainable).
CATALOGUE = [
    ("tseg_B_abdomen_dicom", "totalsegmentator/example_ct_dicom", "abdomen", "train"),
    ("tseg_C_aorta_cta", "totalsegmentator/aorta_cta/ct_cropped.nii.gz", "chest", "train"),
    ("ibsi_STS_004", "ibsi_sts/STS_004/CT_image.nii.gz", "abdomen", "train"),
    ("ibsi_STS_014", "ibsi_sts/STS_014/CT_image.nii.gz", "abdomen", "train"),
    ("ibsi_STS_031", "ibsi_sts/STS_031/CT_image.nii.gz", "abdomen", "train"),
    ("cip_ct64_chest", "cip/ct-64.nrrd", "chest", "train"),
    ("dcm_qa_ct_head", "dcm_qa_ct/In/GE", "HaN", "train"),
    ("tseg_A_abdomen", "totalsegmentator/example_ct.nii.gz", "abdomen", "validation"),
    # example_ct_sm.nii.gz is a sub-volume of patient A: never used for training either.
]


def find_path(rel):
    p = os.path.join(CT, rel)
    if os.path.exists(p):
        return p
    hits = glob.glob(os.path.join(CT, "**", os.path.basename(rel)), recursive=True)
    hits = [h for h in hits if os.path.dirname(rel).split("/")[-1] in h] or hits
    return hits[0] if hits else None


def shared_available():
    return os.path.isdir(CT)


def load_case(name, cache_dir=None):
    """-> dict(hu [D,H,W] at 1 mm, region). Cached as .npy under cache_dir if given."""
    entry = [c for c in CATALOGUE if c[0] == name][0]
    if cache_dir:
        cp = os.path.join(cache_dir, name + ".npy")
        if os.path.exists(cp):
            return {"name": name, "hu": np.load(cp), "region": entry[2]}
    path = find_path(entry[1])
    if path is None:
        raise FileNotFoundError(entry[1])
    vol, sp = read_volume(path)
    hu = resample(vol, sp)
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        np.save(os.path.join(cache_dir, name + ".npy"), hu)
    return {"name": name, "hu": hu, "region": entry[2]}


# ---------------------------------------------------------------- multi-level views
def _resize(a, shape, order=1):
    """align_corners resize (endpoints kept) of a [D,H,W] array."""
    out = a
    for ax in range(3):
        n, m = out.shape[ax], shape[ax]
        c = np.linspace(0, n - 1, m) if m > 1 else np.array([(n - 1) / 2.0])
        if order == 0:
            out = np.take(out, np.round(c).astype(np.int64), axis=ax)
        else:
            out = _interp_axis(out, c, ax)
    return out


def make_view(x, anat, P, L, rng, level=None):
    """One multi-level training view. x: normalized [D,H,W]; anat: class map.
    level 0 = whole volume resized to P^3, 1 = random crop of 2P resized to P, 2 = random crop of P.
    Returns (x [P,P,P], pe [6L,P,P,P], anat [P,P,P])."""
    D, H, W = x.shape
    if level is None:
        level = int(rng.integers(0, 3))
    gz, gy, gx = axis_coords(D), axis_coords(H), axis_coords(W)
    if level == 0:
        xv, av = _resize(x, (P, P, P)), _resize(anat, (P, P, P), order=0)
        return xv, view_pe((-1, -1, -1), (1, 1, 1), (P, P, P), L), av
    S = 2 * P if level == 1 else P
    pad = [max(0, S - n) for n in (D, H, W)]
    if any(pad):  # pad with air/-1 at the far end; coordinates extrapolate linearly
        x = np.pad(x, [(0, p) for p in pad], constant_values=-1.0)
        anat = np.pad(anat, [(0, p) for p in pad], constant_values=0.0)
    o = [int(rng.integers(0, x.shape[k] - S + 1)) for k in range(3)]
    sl = tuple(slice(o[k], o[k] + S) for k in range(3))
    xc, ac = x[sl], anat[sl]
    full = (D, H, W)
    start = [-1 + 2 * o[k] / max(full[k] - 1, 1) for k in range(3)]
    stop = [-1 + 2 * (o[k] + S - 1) / max(full[k] - 1, 1) for k in range(3)]
    if level == 1:
        xc, ac = _resize(xc, (P, P, P)), _resize(ac, (P, P, P), order=0)
    return xc, view_pe(start, stop, (P, P, P), L), ac
