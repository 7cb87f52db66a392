"""The container engine the CDK CLI builds the image with, probed read-only (skipped for a cloud build)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.preflight.results import CheckError, command

# A daemon that does not answer in this time is as good as absent for a deploy.
ENGINE_TIMEOUT_SECONDS = 20
# Buildx drivers that leave the built image in the engine, where the CDK CLI tags and pushes it.
LOADING_DRIVERS = ("docker", "desktop")
# Every engine failure also names the way around the engine.
CLOUD_BUILD_HINT = "or build the image in the cloud instead: -c image_build=cloud"


@dataclass(frozen=True)
class Engine:
    """The command the CDK CLI builds with: CDK_DOCKER, else `docker` (Finch and other look-alikes work)."""

    command: str

    @property
    def is_finch(self) -> bool:
        return Path(self.command).name.lower().startswith("finch")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.command, *args],
                capture_output=True,
                text=True,
                timeout=ENGINE_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CheckError(
                f"`{self.command} {' '.join(args)}` did not answer within {ENGINE_TIMEOUT_SECONDS} s",
                f"restart the engine (Docker Desktop, or `sudo systemctl restart docker`), {CLOUD_BUILD_HINT}",
            ) from None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no answer")


def check_engine(engine: Engine) -> str:
    if shutil.which(engine.command) is None:
        raise CheckError(
            f"`{engine.command}` is not installed (or not on PATH)",
            "install Docker Desktop (Windows, Mac) or Docker Engine with buildx (Linux); for Finch set "
            f"CDK_DOCKER=finch; {CLOUD_BUILD_HINT}",
        )
    answer = engine.run("info", "--format", "{{.ServerVersion}}")
    version = answer.stdout.strip()
    if answer.returncode != 0 or not version:
        start = "`finch vm start`" if engine.is_finch else "start Docker Desktop, or `sudo systemctl start docker`"
        raise CheckError(
            f"`{engine.command}` is installed but its engine does not answer: {_first_line(answer.stderr)}",
            f"{start}, then run this again; {CLOUD_BUILD_HINT}",
        )
    return f"{engine.command}, engine {version}, answers"


@dataclass(frozen=True)
class Builder:
    name: str
    driver: str
    platforms: tuple[str, ...]


def _builder(engine: Engine) -> Builder | None:
    """The active buildx builder, or None when the engine has no buildx (Finch builds with its own BuildKit)."""
    answer = engine.run("buildx", "inspect")
    if answer.returncode != 0:
        if engine.is_finch:
            return None
        raise CheckError(
            f"`{engine.command} buildx` does not work: {_first_line(answer.stderr)}",
            "install Docker's buildx plugin (Docker Desktop has it; Linux: the docker-buildx-plugin package)",
        )
    fields: dict[str, str] = {}
    platforms: list[str] = []
    for line in answer.stdout.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "Platforms":
            platforms.extend(p.strip().rstrip("*") for p in value.split(",") if p.strip())
        else:
            fields.setdefault(key, value.strip())
    return Builder(name=fields.get("Name", "?"), driver=fields.get("Driver", "?"), platforms=tuple(platforms))


def check_builder(engine: Engine) -> str:
    builder = _builder(engine)
    if builder is None:
        return f"{engine.command} builds with its own BuildKit, into its own image store"
    if builder.driver not in LOADING_DRIVERS:
        raise CheckError(
            f"the active builder '{builder.name}' uses the {builder.driver} driver, which keeps built images "
            "out of the engine, so the deploy could not push them",
            f"{command(engine.command, 'buildx', 'use', 'default')}",
        )
    return f"builder '{builder.name}' ({builder.driver} driver) loads built images into the engine"


def check_arm64(engine: Engine) -> str:
    builder = _builder(engine)
    architecture = engine.run("info", "--format", "{{.Architecture}}").stdout.strip()
    native = architecture in ("aarch64", "arm64")
    if native:
        return f"native: the engine runs on {architecture}"
    if builder is None:
        return f"{engine.command} emulates linux/arm64 in its virtual machine"
    if "linux/arm64" in builder.platforms:
        return f"emulated: builder '{builder.name}' lists linux/arm64 (QEMU registered) on {architecture or '?'}"
    raise CheckError(
        f"the engine runs on {architecture or 'an unknown CPU'} and builder '{builder.name}' cannot build "
        "linux/arm64 (no QEMU emulation registered)",
        f"{command(engine.command, 'run', '--privileged', '--rm', 'tonistiigi/binfmt', '--install', 'arm64')} "
        f"(Docker Desktop has it built in), {CLOUD_BUILD_HINT}",
    )


def engine_check_list(engine: Engine) -> list[tuple[str, Callable[[], str]]]:
    return [
        ("Container engine", lambda: check_engine(engine)),
        ("Image builder", lambda: check_builder(engine)),
        ("arm64 builds", lambda: check_arm64(engine)),
    ]
