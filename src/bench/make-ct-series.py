#!/usr/bin/python3
"""Writes a synthetic CT series (one study, one series) as DICOM Part-10 files for benchmarks.

    /usr/bin/python3 src/bench/make-ct-series.py --out DIR [--slices 300] [--size 512] [--thickness 1]

Uses Debian's python3-pydicom + python3-numpy. Pixel data: a water cylinder with a few denser
spheres and noise, stored as 16-bit signed with RescaleIntercept 0 (values are HU). Prints the
StudyInstanceUID and SeriesInstanceUID (one `key=value` per line) on stdout.
"""
import argparse
import datetime
import os

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def ds_str(v):
    """DS values must fit in 16 characters."""
    s = f"{v:.6g}"
    return s if len(s) <= 16 else f"{v:.8e}"[:16]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--thickness", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    n = a.size
    spacing = 350.0 / n
    study_uid, series_uid, for_uid = generate_uid(), generate_uid(), generate_uid()
    now = datetime.datetime.now()
    yy, xx = np.mgrid[0:n, 0:n]
    r2 = ((xx - n / 2) ** 2 + (yy - n / 2) ** 2) * spacing ** 2
    body = r2 < 150.0 ** 2
    for i in range(a.slices):
        z = -a.slices * a.thickness / 2 + i * a.thickness
        img = np.full((n, n), -1000.0)
        img[body] = 0.0
        for cx, cy, cz, rad, hu in ((-60, 20, 0, 30, 300), (50, -40, 20, 20, 60), (10, 70, -30, 25, -100)):
            d2 = (xx * spacing - 175 - cx) ** 2 + (yy * spacing - 175 - cy) ** 2 + (z - cz) ** 2
            img[d2 < rad ** 2] = hu
        img[body] += rng.normal(0, 20, size=int(body.sum()))
        px = np.clip(img, -1024, 3071).astype(np.int16)

        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        sop_uid = generate_uid()
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.SOPClassUID, ds.SOPInstanceUID = CT_IMAGE_STORAGE, sop_uid
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = now.strftime("%Y%m%d")
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = now.strftime("%H%M%S")
        ds.AccessionNumber = "BENCH1"
        ds.Modality = "CT"
        ds.Manufacturer = "MedDiff synthetic"
        ds.ReferringPhysicianName = ""
        ds.StudyDescription = "Synthetic CT benchmark"
        ds.SeriesDescription = f"Synthetic CT {a.thickness:g} mm"
        ds.PatientName = "BENCH^SYNTHETIC"
        ds.PatientID = "BENCH0001"
        ds.PatientBirthDate = ""
        ds.PatientSex = "O"
        ds.BodyPartExamined = "CHEST"
        ds.SliceThickness = ds_str(a.thickness)
        ds.KVP = "120"
        ds.PatientPosition = "HFS"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, for_uid
        ds.StudyID = "1"
        ds.SeriesNumber = 1
        ds.InstanceNumber = i + 1
        ds.PositionReferenceIndicator = ""
        ds.ImagePositionPatient = [ds_str(-175.0), ds_str(-175.0), ds_str(z)]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.SliceLocation = ds_str(z)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = n
        ds.PixelSpacing = [ds_str(spacing), ds_str(spacing)]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "HU"
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        ds.AcquisitionNumber = 1
        ds.PixelData = px.tobytes()
        ds.save_as(os.path.join(a.out, f"CT{i + 1:04d}.dcm"), write_like_original=False)
    print(f"StudyInstanceUID={study_uid}")
    print(f"SeriesInstanceUID={series_uid}")


if __name__ == "__main__":
    main()
