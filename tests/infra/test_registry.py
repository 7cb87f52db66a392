"""The registry stack: the private repository the function's image is pushed into, and who may use it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.infra.conftest import Synthesized, cdk_json_context, synthesize

# Stateful: a new logical id would create a new repository and orphan the old one with its images.
REPOSITORY_LOGICAL_ID = "RegistryRepositoryC6C96DCD"


def _repository(synthesized: Synthesized) -> dict[str, Any]:
    resource: dict[str, Any] = synthesized.registry.to_json()["Resources"][REPOSITORY_LOGICAL_ID]
    return resource


def _lifecycle_rules(synthesized: Synthesized) -> list[dict[str, Any]]:
    text = _repository(synthesized)["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
    rules: list[dict[str, Any]] = json.loads(text)["rules"]
    return rules


def test_repository_logical_id_is_pinned(synthesized: Synthesized) -> None:
    assert _repository(synthesized)["Type"] == "AWS::ECR::Repository"


def test_repository_has_the_configured_name_scan_on_push_and_immutable_tags_but_the_marks(
    synthesized: Synthesized,
) -> None:
    props = _repository(synthesized)["Properties"]
    assert props["RepositoryName"] == synthesized.settings.repository_name == "inbox-mailer-dev"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    # Content-hash tags never move; the live mark and the rollback marks do.
    assert props["ImageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert props["ImageTagMutabilityExclusionFilters"] == [
        {"ImageTagMutabilityExclusionFilterType": "WILDCARD", "ImageTagMutabilityExclusionFilterValue": "live"},
        {"ImageTagMutabilityExclusionFilterType": "WILDCARD", "ImageTagMutabilityExclusionFilterValue": "rollback-*"},
    ]


def test_repository_is_retained_on_delete_by_default(synthesized: Synthesized) -> None:
    repository = _repository(synthesized)
    assert repository["DeletionPolicy"] == "Retain"
    assert repository["UpdateReplacePolicy"] == "Retain"
    assert repository["Properties"]["EmptyOnDelete"] is False


def test_the_marked_images_come_first_so_that_no_later_rule_expires_them(synthesized: Synthesized) -> None:
    rules = _lifecycle_rules(synthesized)
    assert [(r["rulePriority"], r["selection"]) for r in rules[:2]] == [
        (1, {"tagStatus": "tagged", "tagPatternList": ["live"], "countType": "imageCountMoreThan", "countNumber": 1}),
        (
            2,
            {
                "tagStatus": "tagged",
                "tagPatternList": ["rollback-*"],
                "countType": "imageCountMoreThan",
                "countNumber": synthesized.settings.rollback_images,
            },
        ),
    ]
    assert synthesized.settings.rollback_images == 3


def test_untagged_images_expire_after_a_day(synthesized: Synthesized) -> None:
    (untagged,) = [r for r in _lifecycle_rules(synthesized) if r["selection"]["tagStatus"] == "untagged"]
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countNumber": 1,
        "countUnit": "days",
    }


def test_only_the_newest_tagged_images_are_kept_last(synthesized: Synthesized) -> None:
    last = _lifecycle_rules(synthesized)[-1]
    assert last["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["*"],
        "countType": "imageCountMoreThan",
        "countNumber": synthesized.settings.images_to_keep,
    }
    assert synthesized.settings.images_to_keep == 10


def test_lambda_may_pull_only_for_functions_of_this_account_and_region(synthesized: Synthesized) -> None:
    statements = _repository(synthesized)["Properties"]["RepositoryPolicyText"]["Statement"]
    assert statements == [
        {
            "Sid": "LambdaPullForFunctionsOfThisAccountAndRegion",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Condition": {
                "StringLike": {
                    "aws:sourceArn": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":lambda:",
                                {"Ref": "AWS::Region"},
                                ":",
                                {"Ref": "AWS::AccountId"},
                                ":function:*",
                            ],
                        ]
                    }
                }
            },
        }
    ]


def test_publishing_role_is_assumable_in_this_account_and_named_for_the_asset_manifest(
    synthesized: Synthesized,
) -> None:
    synthesized.registry.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": {"Fn::Join": ["", ["inbox-mailer-dev-publishing-", {"Ref": "AWS::Region"}]]},
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"AWS": Match.object_like({"Fn::Join": Match.any_value()})},
                    }
                ]
            },
        },
    )


def test_publishing_role_may_push_to_this_repository_only(synthesized: Synthesized) -> None:
    synthesized.registry.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Sid": "PushToThisRepositoryOnly",
                        "Effect": "Allow",
                        "Action": [
                            "ecr:BatchCheckLayerAvailability",
                            "ecr:BatchGetImage",
                            "ecr:CompleteLayerUpload",
                            "ecr:DescribeImages",
                            "ecr:DescribeRepositories",
                            "ecr:GetDownloadUrlForLayer",
                            "ecr:InitiateLayerUpload",
                            "ecr:PutImage",
                            "ecr:UploadLayerPart",
                        ],
                        "Resource": {"Fn::GetAtt": [REPOSITORY_LOGICAL_ID, "Arn"]},
                    },
                    {
                        "Sid": "LogInToTheRegistry",
                        "Effect": "Allow",
                        "Action": "ecr:GetAuthorizationToken",
                        "Resource": "*",
                    },
                ],
                "Version": "2012-10-17",
            },
        },
    )


def test_lifecycle_rules_say_why_they_keep_or_expire_images(synthesized: Synthesized) -> None:
    rules = _lifecycle_rules(synthesized)
    assert [r["rulePriority"] for r in rules] == [1, 2, 3, 4]
    assert [r["description"] for r in rules] == [
        "Never expire the image the function runs (tag live, moved by every deploy)",
        "Never expire the 3 images live before it (tags rollback-1..)",
        "Expire untagged images (leftover layers of failed pushes) after 1 day",
        "Keep the newest 10 tagged images; marked ones count among them and stay",
    ]
    assert [r["action"] for r in rules] == [{"type": "expire"}] * 4


def test_basic_scanning_leaves_the_registry_s_scanning_configuration_alone(synthesized: Synthesized) -> None:
    assert synthesized.registry.find_resources("AWS::ECR::RegistryScanningConfiguration") == {}


def test_enhanced_scanning_scans_this_repository_continuously(tmp_path_factory: pytest.TempPathFactory) -> None:
    enhanced = synthesize(
        cdk_json_context() | {"image_scanning": "enhanced", "stage": "scan"}, tmp_path_factory.mktemp("enhanced")
    )
    (configuration,) = enhanced.registry.find_resources("AWS::ECR::RegistryScanningConfiguration").values()
    assert configuration["Properties"] == {
        "ScanType": "ENHANCED",
        "Rules": [
            {
                "ScanFrequency": "CONTINUOUS_SCAN",
                "RepositoryFilters": [{"Filter": "inbox-mailer-scan", "FilterType": "WILDCARD"}],
            }
        ],
    }


def test_repository_is_encrypted_with_ecrs_own_aes_256_not_a_kms_key(synthesized: Synthesized) -> None:
    # No EncryptionConfiguration is ECR's default, AES-256; a KMS key would add a key policy and a monthly cost.
    assert "EncryptionConfiguration" not in _repository(synthesized)["Properties"]
    assert synthesized.registry.find_resources("AWS::KMS::Key") == {}


def test_publishing_role_keeps_its_logical_id_since_its_fixed_name_cannot_be_replaced(synthesized: Synthesized) -> None:
    # A new logical id would create a second role with the same name: CloudFormation fails the deploy.
    role = synthesized.stacks.registry.registry.publishing_role
    assert synthesized.logical_id(role) == "RegistryPublishingRole71EAB2E2"
    props = synthesized.registry.to_json()["Resources"]["RegistryPublishingRole71EAB2E2"]["Properties"]
    assert props["Description"] == "Assumed by the CDK CLI during deploy to push the function image to its repository"


def test_the_repository_uri_is_an_output(synthesized: Synthesized) -> None:
    output = synthesized.registry.find_outputs("RepositoryUri")["RepositoryUri"]
    assert output["Description"] == "Where every deploy pushes the function image"
    parts = output["Value"]["Fn::Join"][1]
    assert parts[1] == ".dkr.ecr."
    assert parts[-2:] == ["/", {"Ref": REPOSITORY_LOGICAL_ID}]


def test_the_registry_stack_holds_only_the_repository_and_its_publishing_role(synthesized: Synthesized) -> None:
    types = sorted(r["Type"] for r in synthesized.registry.to_json()["Resources"].values())
    assert types == ["AWS::ECR::Repository", "AWS::IAM::Policy", "AWS::IAM::Role"]


def test_file_assets_of_the_function_stack_go_to_the_cdk_bootstrap_bucket_with_its_role(
    synthesized: Synthesized,
) -> None:
    # Only images are staged in the app's own repository; templates go where `cdk bootstrap` put its bucket.
    manifest = synthesized.asset_manifest(synthesized.stacks.function.stack_name)
    destinations = [d for asset in manifest["files"].values() for d in asset["destinations"].values()]
    assert destinations
    for destination in destinations:
        assert destination["bucketName"] == "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"
        assert destination["assumeRoleArn"] == (
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-file-publishing-role-"
            "${AWS::AccountId}-${AWS::Region}"
        )
