"""tuspy (the official Python client) against Satchel: upload two pieces, stop, resume from the
stored URL in a new uploader, finish; then check the file through the API. sha1 checksums on.

Usage: tuspy_resume.py BASE_URL ACCESS_TOKEN FILE"""
import hashlib
import json
import sys
import urllib.request

from tusclient import client

base, token, path = sys.argv[1:4]
auth = {"Authorization": "Bearer " + token}
piece = 3 * 1024 * 1024
tus = client.TusClient(base + "/api/v1/tus/", headers=auth)
metadata = {"filename": "tuspy.bin", "path": "/tus clients"}

first = tus.uploader(file_path=path, chunk_size=piece, metadata=metadata, upload_checksum=True)
first.upload_chunk()
first.upload_chunk()
url = first.url
del first  # "interrupted"

resumed = tus.uploader(file_path=path, url=url, chunk_size=piece, upload_checksum=True)
offset = resumed.get_offset()
assert offset == 2 * piece, f"resumed at {offset}, expected {2 * piece}"
resumed.upload()

request = urllib.request.Request(
    base + "/api/v1/nodes/by-path?path=" + urllib.parse.quote("/tus clients/tuspy.bin"), headers=auth
)
node = json.load(urllib.request.urlopen(request))
with open(path, "rb") as f:
    want = hashlib.sha256(f.read()).hexdigest()
assert node["sha256"] == want, (node["sha256"], want)
request = urllib.request.Request(base + f"/api/v1/files/{node['id']}/content", headers=auth)
got = hashlib.sha256(urllib.request.urlopen(request).read()).hexdigest()
assert got == want, (got, want)
print(f"tuspy: resumed at {offset} of {node['size']} bytes, file verified ({want[:12]}…)")
