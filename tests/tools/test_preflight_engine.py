"""The engine checks against a fake `docker` that answers like the real client in each state of a machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.preflight_support import fake_engine
from tools.preflight.engine import Engine, check_arm64, check_builder, check_engine
from tools.preflight.results import CheckError


def test_a_healthy_engine_passes_every_engine_check(tmp_path: Path) -> None:
    # GIVEN an engine on x86_64 with the default builder and QEMU's arm64 registered
    engine = fake_engine(tmp_path, "healthy")
    # WHEN / THEN each check passes and says what it found
    assert check_engine(engine) == f"{engine.command}, engine 28.2.2, answers"
    assert check_builder(engine) == "builder 'default' (docker driver) loads built images into the engine"
    assert check_arm64(engine) == "emulated: builder 'default' lists linux/arm64 (QEMU registered) on x86_64"


def test_an_arm64_engine_builds_natively(tmp_path: Path) -> None:
    assert check_arm64(fake_engine(tmp_path, "arm64-native")) == "native: the engine runs on aarch64"


def test_a_missing_engine_says_what_to_install(tmp_path: Path) -> None:
    # GIVEN CDK_DOCKER naming a command that does not exist
    engine = Engine(str(tmp_path / "docker"))
    # WHEN the engine is checked
    with pytest.raises(CheckError) as failure:
        check_engine(engine)
    # THEN it names the command and the ways to get one
    assert failure.value.problem == f"`{engine.command}` is not installed (or not on PATH)"
    assert failure.value.fix == (
        "install Docker Desktop (Windows, Mac) or Docker Engine with buildx (Linux); for Finch set CDK_DOCKER=finch; "
        "or build the image in the cloud instead: -c image_build=cloud"
    )


def test_an_engine_whose_daemon_is_down_says_to_start_it(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path, "no-daemon")
    with pytest.raises(CheckError) as failure:
        check_engine(engine)
    assert failure.value.problem == (
        f"`{engine.command}` is installed but its engine does not answer: Cannot connect to the Docker daemon at "
        "unix:///var/run/docker.sock. Is the docker daemon running?"
    )
    assert failure.value.fix == (
        "start Docker Desktop, or `sudo systemctl start docker`, then run this again; "
        "or build the image in the cloud instead: -c image_build=cloud"
    )


def test_a_docker_container_builder_is_refused_with_the_command_that_switches_back(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path, "docker-container")
    with pytest.raises(CheckError) as failure:
        check_builder(engine)
    assert failure.value.problem == (
        "the active builder 'container' uses the docker-container driver, which keeps built images out of the "
        "engine, so the deploy could not push them"
    )
    assert failure.value.fix == f"`{engine.command} buildx use default`"


def test_no_arm64_emulation_says_how_to_register_it_and_mentions_the_cloud_build(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path, "no-arm64")
    with pytest.raises(CheckError) as failure:
        check_arm64(engine)
    assert failure.value.problem == (
        "the engine runs on x86_64 and builder 'default' cannot build linux/arm64 (no QEMU emulation registered)"
    )
    assert failure.value.fix == (
        f"`{engine.command} run --privileged --rm tonistiigi/binfmt --install arm64` (Docker Desktop has it built "
        "in), or build the image in the cloud instead: -c image_build=cloud"
    )
