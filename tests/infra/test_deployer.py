"""The deployer stack: who may use the GitHub deploy role (trust), and what it may do (hand over to a CDK deploy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from checks.assembly import load_json, stack_templates
from stacks.app import build_stacks
from stacks.deployer_stack import ROLE_ARN_VARIABLE
from stacks.settings import Settings, SettingsError
from tests.conftest import GITHUB_REPOSITORY
from tests.infra.conftest import Synthesized, cdk_json_context

OIDC = "token.actions.githubusercontent.com"
PROVIDER_ARN = f"arn:aws:iam::123456789012:oidc-provider/{OIDC}"
SUBJECT_REPOSITORY = "octo-org@123456/inbox-mailer@789012"


def _resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {logical_id: dict(resource) for logical_id, resource in template.find_resources(kind).items()}


def _only(template: Template, kind: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = _resources(template, kind).items()
    return logical_id, resource


def _deployer(synthesized: Synthesized) -> Template:
    assert synthesized.deployer is not None
    return synthesized.deployer


def _trust(template: Template) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = _only(template, "AWS::IAM::Role")[1]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    return statements


def _roles_a_deploy_assumes(assembly: Path) -> set[str]:
    """Every role the CDK CLI assumes to diff and deploy this assembly: stack deploy and lookup, asset publishing."""
    manifest = load_json(assembly / "manifest.json")
    found: set[str] = set()
    for name in stack_templates(assembly):
        properties = manifest["artifacts"][name]["properties"]
        found |= {properties["assumeRoleArn"], properties["lookupRole"]["arn"]}
        assets = load_json(assembly / f"{name}.assets.json")
        for kind in ("files", "dockerImages"):
            for asset in assets.get(kind, {}).values():
                found |= {destination["assumeRoleArn"] for destination in asset["destinations"].values()}
    return found


@pytest.fixture(scope="module")
def imported_for_prod() -> Template:
    """Stage prod of an account that already has GitHub's provider, for a repository with the immutable sub claim."""
    context = cdk_json_context() | {
        "stage": "prod",
        "github_repository": GITHUB_REPOSITORY,
        "github_subject_repository": SUBJECT_REPOSITORY,
        "github_oidc_provider_arn": PROVIDER_ARN,
    }
    app = App(context=context)
    stacks = build_stacks(app, Settings.from_context(context))
    assert stacks.deployer is not None
    return Template.from_stack(stacks.deployer)


# Unset: nothing changes


def test_no_deployer_stack_unless_a_repository_is_set(synthesized: Synthesized) -> None:
    assert synthesized.settings.github_repository is None
    assert synthesized.stacks.deployer is None
    assert synthesized.deployer is None
    assert list(stack_templates(synthesized.outdir)) == ["inbox-mailer-dev-registry", "inbox-mailer-dev-function"]


def test_setting_a_repository_adds_the_deployer_stack_and_changes_nothing_else(
    synthesized: Synthesized, synthesized_with_deployer: Synthesized
) -> None:
    assert list(stack_templates(synthesized_with_deployer.outdir)) == [
        "inbox-mailer-dev-registry",
        "inbox-mailer-dev-function",
        "inbox-mailer-dev-deployer",
    ]
    assert synthesized_with_deployer.registry.to_json() == synthesized.registry.to_json()
    assert synthesized_with_deployer.function.to_json() == synthesized.function.to_json()


# Trust: one repository, its main branch and the stage's environment, GitHub's audience for AWS


def test_only_the_main_branch_and_the_stage_environment_of_the_repository_may_assume_the_role(
    synthesized_with_deployer: Synthesized,
) -> None:
    deployer = _deployer(synthesized_with_deployer)
    provider_id, _ = _only(deployer, "AWS::IAM::OIDCProvider")
    assert _trust(deployer) == [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": {"Ref": provider_id}},
            "Condition": {
                "StringEquals": {
                    f"{OIDC}:aud": "sts.amazonaws.com",
                    f"{OIDC}:sub": [
                        "repo:octo-org/inbox-mailer:ref:refs/heads/main",
                        "repo:octo-org/inbox-mailer:environment:dev",
                    ],
                }
            },
        }
    ]


def test_the_immutable_sub_claim_replaces_the_name_only_one_and_the_environment_follows_the_stage(
    imported_for_prod: Template,
) -> None:
    # GIVEN github_subject_repository (a repository created or renamed after mid-July 2026) and stage prod
    condition = _trust(imported_for_prod)[0]["Condition"]
    # THEN only the id-suffixed form is trusted: a recycled name alone never matches
    assert condition == {
        "StringEquals": {
            f"{OIDC}:aud": "sts.amazonaws.com",
            f"{OIDC}:sub": [
                f"repo:{SUBJECT_REPOSITORY}:ref:refs/heads/main",
                f"repo:{SUBJECT_REPOSITORY}:environment:prod",
            ],
        }
    }


def test_the_provider_is_created_natively_for_github_and_kept_when_the_stack_goes(
    synthesized_with_deployer: Synthesized,
) -> None:
    deployer = _deployer(synthesized_with_deployer)
    _, provider = _only(deployer, "AWS::IAM::OIDCProvider")
    assert provider["Properties"] == {"Url": f"https://{OIDC}", "ClientIdList": ["sts.amazonaws.com"]}
    assert (provider["DeletionPolicy"], provider["UpdateReplacePolicy"]) == ("Retain", "Retain")
    # The native resource: no custom-resource provider and its Lambda function.
    types = {r["Type"] for r in deployer.to_json()["Resources"].values()}
    assert types == {"AWS::IAM::OIDCProvider", "AWS::IAM::Role", "AWS::IAM::Policy"}


def test_an_existing_provider_is_used_by_its_arn_and_none_is_created(imported_for_prod: Template) -> None:
    assert _resources(imported_for_prod, "AWS::IAM::OIDCProvider") == {}
    assert _trust(imported_for_prod)[0]["Principal"] == {"Federated": PROVIDER_ARN}


# Permissions: only sts:AssumeRole, only on the roles a deploy of this app assumes


def test_the_role_may_only_assume_the_roles_of_a_cdk_deploy_of_this_app(
    synthesized_with_deployer: Synthesized,
) -> None:
    deployer = _deployer(synthesized_with_deployer)
    role_id, role = _only(deployer, "AWS::IAM::Role")
    _, policy = _only(deployer, "AWS::IAM::Policy")
    assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Sid": "HandOverToTheRolesOfACdkDeployOnly",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [
                {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}"}
                for name in (
                    "cdk-hnb659fds-deploy-role-${AWS::AccountId}-${AWS::Region}",
                    "cdk-hnb659fds-file-publishing-role-${AWS::AccountId}-${AWS::Region}",
                    "cdk-hnb659fds-lookup-role-${AWS::AccountId}-${AWS::Region}",
                    "inbox-mailer-dev-publishing-${AWS::Region}",
                )
            ],
        }
    ]
    assert not {"ManagedPolicyArns", "Policies", "PermissionsBoundary"} & set(role["Properties"])
    assert _resources(deployer, "AWS::IAM::ManagedPolicy") == {}
    assert role["Properties"]["MaxSessionDuration"] == 3600


def test_the_roles_it_may_assume_are_exactly_those_the_cloud_assembly_of_a_ci_deploy_names(
    synthesized: Synthesized, synthesized_with_deployer: Synthesized
) -> None:
    # GIVEN the app CI deploys (cdk.json: no github_repository, so the registry and function stacks)
    needed = _roles_a_deploy_assumes(synthesized.outdir)
    # WHEN the deploy role's resources are read
    _, policy = _only(_deployer(synthesized_with_deployer), "AWS::IAM::Policy")
    allowed = {resource["Fn::Sub"] for resource in policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]}
    # THEN it may assume each of them and nothing else (the CloudFormation execution role is passed, not assumed)
    assert allowed == needed
    assert len(needed) == 4


def test_the_publishing_role_it_may_assume_is_the_one_the_registry_creates(
    imported_for_prod: Template,
) -> None:
    _, policy = _only(imported_for_prod, "AWS::IAM::Policy")
    resources = policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
    assert resources[-1] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/inbox-mailer-prod-publishing-${AWS::Region}"
    }


def test_the_outputs_say_where_the_role_arn_goes(synthesized_with_deployer: Synthesized) -> None:
    deployer = _deployer(synthesized_with_deployer)
    role_id, _ = _only(deployer, "AWS::IAM::Role")
    output = deployer.find_outputs("DeployRoleArn")["DeployRoleArn"]
    assert output["Value"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert output["Description"] == f"Put into the variable {ROLE_ARN_VARIABLE} of the GitHub environment dev"
    assert ROLE_ARN_VARIABLE in (Path(__file__).resolve().parents[2] / "docs" / "github-actions.md").read_text()


# Bad settings: one clear line naming the setting

BAD_VALUES: list[tuple[dict[str, Any], str, str]] = [
    ({"github_repository": "inbox-mailer"}, "github_repository", "owner/name of the GitHub repository"),
    ({"github_repository": "octo-org/inbox/mailer"}, "github_repository", "owner/name"),
    ({"github_repository": "-octo/inbox-mailer"}, "github_repository", "owner/name"),
    ({"github_repository": "octo--org/inbox-mailer"}, "github_repository", "owner/name"),
    ({"github_repository": "octo-org/.."}, "github_repository", "owner/name"),
    ({"github_repository": "octo-org/inbox mailer"}, "github_repository", "owner/name"),
    ({"github_repository": "https://github.com/octo-org/inbox-mailer"}, "github_repository", "owner/name"),
    ({"github_repository": ["octo-org/inbox-mailer"]}, "github_repository", "owner/name"),
    ({"github_subject_repository": SUBJECT_REPOSITORY}, "github_subject_repository", "unless github_repository"),
    (
        {"github_repository": GITHUB_REPOSITORY, "github_subject_repository": "other@1/inbox-mailer@2"},
        "github_subject_repository",
        "octo-org@<owner id>/inbox-mailer@<repository id>",
    ),
    (
        {"github_repository": GITHUB_REPOSITORY, "github_subject_repository": "octo-org-123456/inbox-mailer-789012"},
        "github_subject_repository",
        "octo-org@<owner id>/inbox-mailer@<repository id>",
    ),
    (
        {"github_repository": GITHUB_REPOSITORY, "github_subject_repository": "octo-org@12/inbox-mailer"},
        "github_subject_repository",
        "immutable form",
    ),
    ({"github_oidc_provider_arn": PROVIDER_ARN}, "github_oidc_provider_arn", "unless github_repository"),
    (
        {"github_repository": GITHUB_REPOSITORY, "github_oidc_provider_arn": "arn:aws:iam::123456789012:role/x"},
        "github_oidc_provider_arn",
        f"IAM OIDC provider for {OIDC}",
    ),
    (
        {
            "github_repository": GITHUB_REPOSITORY,
            "github_oidc_provider_arn": "arn:aws:iam::123456789012:oidc-provider/accounts.google.com",
        },
        "github_oidc_provider_arn",
        f"IAM OIDC provider for {OIDC}",
    ),
    (
        {"github_repository": GITHUB_REPOSITORY, "account": "111111111111", "github_oidc_provider_arn": PROVIDER_ARN},
        "github_oidc_provider_arn",
        f"arn:aws:iam::111111111111:oidc-provider/{OIDC}",
    ),
]


@pytest.mark.parametrize(
    ("values", "key", "accepted"), BAD_VALUES, ids=[json.dumps(values)[:70] for values, _, _ in BAD_VALUES]
)
def test_a_bad_github_setting_is_one_line_naming_it(values: dict[str, Any], key: str, accepted: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_context(cdk_json_context() | values)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"Invalid setting '{key}' = {values[key]!r}: expected ")
    assert accepted in message


def test_good_github_settings_are_kept_as_given() -> None:
    settings = Settings.from_context(
        {
            "github_repository": " Octo-Org/inbox.mailer_2 ",
            "github_subject_repository": "Octo-Org@1/inbox.mailer_2@22",
            "account": "123456789012",
            "github_oidc_provider_arn": PROVIDER_ARN,
        }
    )
    assert settings.github_repository == "Octo-Org/inbox.mailer_2"
    assert settings.github_subject == "Octo-Org@1/inbox.mailer_2@22"
    assert settings.github_oidc_provider_arn == PROVIDER_ARN
    assert Settings.from_context({"github_repository": GITHUB_REPOSITORY}).github_subject == GITHUB_REPOSITORY


def test_the_provider_and_the_role_keep_their_logical_ids(synthesized_with_deployer: Synthesized) -> None:
    # A new id for the provider would create a second one for the same URL, which IAM refuses; a new id for the role
    # would change its ARN, and the one stored in the GitHub environment would stop working.
    deployer = synthesized_with_deployer.stacks.deployer
    assert deployer is not None
    assert synthesized_with_deployer.logical_id(deployer.deployer.role) == "GitHubDeployerRole5FA10AC6"
    provider_id, _ = _only(_deployer(synthesized_with_deployer), "AWS::IAM::OIDCProvider")
    assert provider_id == "GitHubDeployerGitHubOidcProviderA4A96B6D"


def test_the_role_says_which_repository_and_stage_it_deploys(
    synthesized_with_deployer: Synthesized, imported_for_prod: Template
) -> None:
    _, role = _only(_deployer(synthesized_with_deployer), "AWS::IAM::Role")
    assert (
        role["Properties"]["Description"]
        == "Assumed by GitHub Actions of octo-org/inbox-mailer to deploy the dev stage"
    )
    _, prod = _only(imported_for_prod, "AWS::IAM::Role")
    assert prod["Properties"]["Description"] == (
        f"Assumed by GitHub Actions of {SUBJECT_REPOSITORY} to deploy the prod stage"
    )


def test_the_provider_arn_is_an_output_for_the_other_stages_of_the_account(
    synthesized_with_deployer: Synthesized, imported_for_prod: Template
) -> None:
    deployer = _deployer(synthesized_with_deployer)
    provider_id, _ = _only(deployer, "AWS::IAM::OIDCProvider")
    output = deployer.find_outputs("GitHubOidcProviderArn")["GitHubOidcProviderArn"]
    assert output["Value"] == {"Ref": provider_id}
    assert output["Description"] == "Pass to other stages of this account as -c github_oidc_provider_arn=<this value>"
    # An imported provider is handed on as it was given.
    assert imported_for_prod.find_outputs("GitHubOidcProviderArn")["GitHubOidcProviderArn"]["Value"] == PROVIDER_ARN


def test_the_deployer_stack_says_which_repository_and_stage_it_serves(synthesized_with_deployer: Synthesized) -> None:
    template = _deployer(synthesized_with_deployer).to_json()
    assert template["Description"] == "Role for GitHub Actions of octo-org/inbox-mailer to deploy the dev stage"
