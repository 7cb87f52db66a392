"""A stand-in for the `docker` client, answering like the real one in the state named by FAKE_DOCKER_STATE.

States: `healthy` (engine 28.2.2 on x86_64, default builder with the docker driver and QEMU's arm64),
`no-daemon`, `docker-container` (the active builder keeps images out of the engine), `no-arm64` (no emulation
registered), `arm64-native` (an arm64 engine without emulators). Every call is appended to FAKE_DOCKER_LOG as a
JSON line with its arguments and BUILDX_NO_DEFAULT_ATTESTATIONS, so a test can read what a build was given.
"""

from __future__ import annotations

import json
import os
import sys

NO_DAEMON = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
EMULATED = "linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/arm64, linux/riscv64, linux/386, linux/arm/v7"
NATIVE_X86 = "linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/386"


def inspect_builder(state: str) -> str:
    name, driver = ("container", "docker-container") if state == "docker-container" else ("default", "docker")
    platforms = {"no-arm64": NATIVE_X86, "arm64-native": "linux/arm64, linux/arm/v7"}.get(state, EMULATED)
    return (
        f"Name:          {name}\nDriver:        {driver}\nLast Activity: 2026-11-28 01:00:00 +0000 UTC\n\n"
        f"Nodes:\nName:             {name}\nEndpoint:         {name}\nStatus:           running\n"
        f"BuildKit version: v0.23.0\nPlatforms:        {platforms}\n"
    )


def main(args: list[str]) -> int:
    state = os.environ.get("FAKE_DOCKER_STATE", "healthy")
    log = os.environ.get("FAKE_DOCKER_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            attestations = os.environ.get("BUILDX_NO_DEFAULT_ATTESTATIONS")
            out.write(json.dumps({"args": args, "BUILDX_NO_DEFAULT_ATTESTATIONS": attestations}) + "\n")
    if state == "no-daemon" and args[:1] != ["buildx"]:
        print()
        print(NO_DAEMON, file=sys.stderr)
        return 1
    if args[:1] == ["info"]:
        fields = {
            "{{.ServerVersion}}": "28.2.2",
            "{{.Architecture}}": "aarch64" if state == "arm64-native" else "x86_64",
        }
        print(fields.get(args[-1], "{}"))
        return 0
    if args[:2] == ["buildx", "inspect"]:
        if state == "no-daemon":
            print(f"ERROR: {NO_DAEMON}", file=sys.stderr)
            return 1
        print(inspect_builder(state), end="")
        return 0
    if args[:1] == ["inspect"]:
        print("[]")
        print(f"Error: No such object: {args[-1]}", file=sys.stderr)
        return 1
    if args[:1] == ["build"]:
        print('#0 building with "default" instance using docker driver')
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
