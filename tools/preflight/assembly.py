"""What the deploy will need, read from the synthesized cloud assembly (never restated in the preflight)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.preflight.results import CheckError


def _json_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@dataclass(frozen=True)
class ImageDestination:
    repository: str
    tag: str


@dataclass(frozen=True)
class Assembly:
    """The facts the checks read from a synthesized cloud assembly, never restated by a check."""

    directory: Path
    bootstrap_versions: dict[str, int]  # SSM parameter → the highest version any artifact requires
    repository_stacks: dict[str, str]  # repository name → the stack that declares it
    function_outputs: tuple[tuple[str, str], ...]  # (stack, output) of each output naming a function
    images: tuple[ImageDestination, ...]

    @classmethod
    def read(cls, directory: Path) -> Assembly:
        manifest_path = directory / "manifest.json"
        if not manifest_path.is_file():
            raise CheckError(
                f"no synthesized app in {directory}", "run `make preflight` (it synthesizes before it checks)"
            )
        manifest = _json_file(manifest_path)
        versions: dict[str, int] = {}
        repositories: dict[str, str] = {}
        images: list[ImageDestination] = []
        function_outputs: list[tuple[str, str]] = []
        for artifact_id, artifact in manifest.get("artifacts", {}).items():
            properties = artifact.get("properties", {})
            name = properties.get("stackName", artifact_id)
            parameter = properties.get("bootstrapStackVersionSsmParameter")
            if parameter and "requiresBootstrapStackVersion" in properties:
                versions[parameter] = max(versions.get(parameter, 0), int(properties["requiresBootstrapStackVersion"]))
            if artifact.get("type") == "aws:cloudformation:stack":
                template = _json_file(directory / properties["templateFile"])
                resources = template.get("Resources", {})
                for resource in resources.values():
                    repository = resource.get("Properties", {}).get("RepositoryName")
                    if resource.get("Type") == "AWS::ECR::Repository" and isinstance(repository, str):
                        repositories[repository] = name
                function_outputs.extend(
                    (name, key)
                    for key, output in template.get("Outputs", {}).items()
                    if resources.get(str(output.get("Value", {}).get("Ref")), {}).get("Type") == "AWS::Lambda::Function"
                )
            if artifact.get("type") == "cdk:asset-manifest":
                assets = _json_file(directory / properties["file"])
                for image in assets.get("dockerImages", {}).values():
                    images.extend(
                        ImageDestination(repository=d["repositoryName"], tag=d["imageTag"])
                        for d in image.get("destinations", {}).values()
                    )
        return cls(
            directory=directory,
            bootstrap_versions=versions,
            repository_stacks=repositories,
            function_outputs=tuple(function_outputs),
            images=tuple(dict.fromkeys(images)),
        )
