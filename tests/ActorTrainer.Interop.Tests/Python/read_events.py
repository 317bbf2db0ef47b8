"""Independent TensorBoard event-file reader: TFRecord framing with a table-driven CRC32C written here,
Event protos decoded by protoc-generated Python classes. Prints one JSON object per Summary.Value / file_version."""
import base64
import importlib
import json
import struct
import sys


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def main(gen_dir, path):
    sys.path.insert(0, gen_dir)
    pb = importlib.import_module("tb_event_subset_pb2")
    out = []
    with open(path, "rb") as f:
        blob = f.read()
    pos = 0
    while pos < len(blob):
        header = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if len_crc != masked(crc32c(header)):
            raise SystemExit(f"length crc mismatch at {pos}")
        data = blob[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", blob[pos + 12 + length:pos + 16 + length])
        if data_crc != masked(crc32c(data)):
            raise SystemExit(f"data crc mismatch at {pos}")
        ev = pb.Event()
        ev.ParseFromString(data)
        base = {"offset": pos, "wall_time": ev.wall_time, "step": ev.step}
        if ev.WhichOneof("what") == "file_version":
            out.append(dict(base, kind="file_version", file_version=ev.file_version))
        for v in ev.summary.value:
            which = v.WhichOneof("value")
            item = dict(base, kind=which, tag=v.tag)
            if which == "simple_value":
                item["value"] = v.simple_value
            elif which == "histo":
                h = v.histo
                item.update(min=h.min, max=h.max, num=h.num, sum=h.sum, sum_squares=h.sum_squares,
                            bucket_limit=list(h.bucket_limit), bucket=list(h.bucket))
            elif which == "image":
                im = v.image
                item.update(height=im.height, width=im.width, colorspace=im.colorspace,
                            png=base64.b64encode(im.encoded_image_string).decode("ascii"))
            out.append(item)
        pos += 16 + length
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
