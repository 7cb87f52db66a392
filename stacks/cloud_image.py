"""The cloud image build: `lambda_image/` built natively in AWS CodeBuild at deploy time, pushed to the registry.

Built on cdklabs' `ContainerImageBuild` (deploy-time-build 0.1.14): a custom resource starts a CodeBuild build
on every create or update of its properties, and the build itself answers CloudFormation (success or failure,
with a link to its log) once the image is pushed. What this unit changes in it, and why:

- The tag is the hash of the image's build context and platform (`image_tag`), so the custom resource's
  properties, and with them the build, change only when `lambda_image/` changes.
- The build looks the tag up first and skips build and push when it exists: a rollback, or a redeploy after
  a destroy that kept the repository, returns to an existing tag instead of pushing it a second time.
- The project's role holds exact statements only: push to this repository, read this one source archive,
  write its own log group, log in to ECR and ECR Public. The handler's role starts this one project and
  writes its own log group. Both log groups have a retention period.
- The failure message is rewritten on one line (the construct's has a line break inside a JSON string, which
  makes the answer to CloudFormation invalid JSON), and its link points to the build's own log group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import Duration, FileSystem, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from cdklabs.deploy_time_build import ContainerImageBuild
from constructs import Construct

from stacks.compliance import acknowledge
from stacks.registry import PUSH_ACTIONS
from stacks.removal import Removal

# Tags of images built in the cloud start with this, so the repository shows which builder made an image.
TAG_PREFIX = "cloud-"
# The image builds in one to three minutes; a build still running after this is stuck.
BUILD_TIMEOUT_MINUTES = 15
# CloudFormation waits this long for the build's answer (its default is an hour): the build's timeout plus
# time to be queued and provisioned. A build that dies before it can answer fails the deploy after this.
ANSWER_TIMEOUT = Duration.minutes(BUILD_TIMEOUT_MINUTES + 10)
# What the handler needs: it only starts the build and returns.
HANDLER_MEMORY_MIB = 128
# The construct picks Node.js 22 on x86; its bundle is plain JavaScript that uses only Node built-ins and the
# runtime's AWS SDK v3 CodeBuild client, so it runs unchanged on the latest Node.js runtime, on cheaper arm64.
HANDLER_RUNTIME = lambda_.Runtime.NODEJS_24_X
# Set on the project: the name of the build's log group, for the link in the failure message.
LOG_GROUP_VARIABLE = "BUILD_LOG_GROUP"
# The construct's link assumes CodeBuild's default log group, /aws/codebuild/<project>, URL-encoded twice.
_DEFAULT_LOG_GROUP_IN_LINK = "\\$252Faws\\$252Fcodebuild\\$252F$projectName"
_LINE_BREAK_IN_REASON = "reason: \nhttps://"
# The look-up's answer, kept for the commands after it: buildspec 0.2 runs a phase's commands in one shell
# ("Shells and commands in build environments", CodeBuild user guide). `repositoryUri` and `imageTag` are set
# on the build by the construct's handler (its lambda/trigger-codebuild/index.ts).
_SKIP = "image_exists"
_LOOK_UP_TAG = (
    f'if aws ecr describe-images --repository-name "${{repositoryUri#*/}}" --image-ids imageTag="$imageTag" '
    f'>/dev/null 2>&1; then {_SKIP}=yes; echo "Image tag $imageTag already exists: nothing to build or push"; '
    f"else {_SKIP}=no; fi"
)
# The two calls that log in to ECR and to ECR Public (for the base image) have no resource-level permissions.
LOGIN_ACTIONS = ("ecr:GetAuthorizationToken", "ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


def build_context_ignore(directory: Path) -> list[str]:
    """The `.dockerignore` patterns of `directory`: what the local build leaves out, the cloud build does too."""
    ignore_file = directory / ".dockerignore"
    if not ignore_file.exists():
        return []
    lines = (line.strip() for line in ignore_file.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def image_tag(directory: Path, platform: str) -> str:
    """The tag of the image built from `directory` for `platform`: the same sources give the same tag."""
    fingerprint = FileSystem.fingerprint(
        str(directory), exclude=build_context_ignore(directory), ignore_mode=IgnoreMode.DOCKER, extra_hash=platform
    )
    return f"{TAG_PREFIX}{fingerprint}"


def skip_existing_tag(buildspec: dict[str, Any]) -> dict[str, Any]:
    """The construct's buildspec, made to look its tag up first and to skip build and push when it exists.

    Every build command is guarded rather than joined into one script, so each keeps failing the build on
    its own. The post-build answer to CloudFormation is kept, with its failure reason on one line and its link
    to the log group named by `$BUILD_LOG_GROUP`. Refuses a buildspec whose answer is not the expected one.
    """
    spec: dict[str, Any] = json.loads(json.dumps(buildspec))
    build = spec["phases"]["build"]
    build["commands"] = [_LOOK_UP_TAG, *(f'[ "${_SKIP}" = yes ] || {command}' for command in build["commands"])]
    post_build = spec["phases"]["post_build"]
    answers = [c for c in post_build["commands"] if _LINE_BREAK_IN_REASON in c and _DEFAULT_LOG_GROUP_IN_LINK in c]
    if len(answers) != 1:
        raise ValueError("The construct's post-build answer changed: review skip_existing_tag before upgrading it")
    post_build["commands"] = [
        c.replace(_LINE_BREAK_IN_REASON, "reason: https://").replace(
            _DEFAULT_LOG_GROUP_IN_LINK, f"${LOG_GROUP_VARIABLE}"
        )
        for c in post_build["commands"]
    ]
    return spec


class CloudImageBuild(Construct):
    """Builds `directory` for `architecture` in CodeBuild during the deploy and pushes it to `repository`.

    `code` is the function's image code; it refers to the tag the build answers, so the function is created
    or updated only after the image exists.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        directory: Path,
        architecture: lambda_.Architecture,
        repository: ecr.IRepository,
        log_retention_days: int,
        removal: Removal,
    ) -> None:
        super().__init__(scope, id_)
        platform = architecture.docker_platform
        self.tag = image_tag(directory, platform)
        self.build = ContainerImageBuild(
            self,
            "Build",
            directory=str(directory),
            exclude=build_context_ignore(directory),
            ignore_mode=IgnoreMode.DOCKER,
            platform=ecr_assets.Platform.custom(platform),
            repository=repository,
            tag=self.tag,
        )
        self.code = self.build.to_lambda_docker_image_code()
        self.source: s3_assets.Asset = self.build.node.find_child("Source")  # type: ignore[assignment]
        self.custom_resource = self.build.node.find_child("Resource")
        stack = Stack.of(self)
        # The construct creates its project and handler once per stack, at the stack's root.
        (self.project,) = [c for c in stack.node.children if isinstance(c, codebuild.Project)]
        (self.handler,) = [
            c
            for c in stack.node.children
            if isinstance(c, lambda_.Function) and c.node.id.startswith("DeployTimeBuildCustomResourceHandler")
        ]
        # A name to find the project by in the console. Its log group has a generated name, so that a group
        # retained by a destroy or a failed first deploy never blocks the next deploy.
        self.project_name = f"{stack.stack_name}-image-build"
        self.build_log_group = self._log_group("BuildLogs", log_retention_days, removal.policy)
        # Replaces the group the CDK adds under its default name (feature flag `useCdkManagedLogGroup`): that
        # name refers to the function, so a statement granting exactly that group would be a circular reference.
        self.handler.node.try_remove_child("LogGroup")
        self.handler_log_group = self._log_group("HandlerLogs", log_retention_days, removal.policy)
        self._harden_project(repository)
        self._harden_handler()
        # The build writes to its log group and answers CloudFormation in a bounded time.
        self.custom_resource.node.add_dependency(self.build_log_group)
        cfn_custom: Any = self.custom_resource.node.default_child
        cfn_custom.add_property_override("ServiceTimeout", int(ANSWER_TIMEOUT.to_seconds()))
        self._acknowledge_findings()

    def _log_group(self, id_: str, retention_days: int, removal: RemovalPolicy) -> logs.LogGroup:
        group = logs.LogGroup(self, id_)
        self._keep_logs(group, retention_days, removal)
        return group

    @staticmethod
    def _keep_logs(group: logs.LogGroup, retention_days: int, removal: RemovalPolicy) -> None:
        group.apply_removal_policy(removal)
        cfn_group: logs.CfnLogGroup = group.node.default_child  # type: ignore[assignment]
        cfn_group.retention_in_days = retention_days
        acknowledge(
            group,
            checkov=["CKV_AWS_158"],
            reason="CloudWatch Logs encrypts every log group at rest with its own keys; build and handler logs hold "
            "no secrets, so a customer managed key would add cost and a key policy without a reader who needs it.",
        )

    def _harden_project(self, repository: ecr.IRepository) -> None:
        cfn_project: codebuild.CfnProject = self.project.node.default_child  # type: ignore[assignment]
        source: codebuild.CfnProject.SourceProperty = cfn_project.source  # type: ignore[assignment]
        # Kept as the construct wrote it, for the tests that prove what the rewrite changes.
        self.original_buildspec: dict[str, Any] = json.loads(Stack.of(self).resolve(source.build_spec))
        buildspec = self.original_buildspec
        cfn_project.source = codebuild.CfnProject.SourceProperty(
            type=source.type, build_spec=json.dumps(skip_existing_tag(buildspec), indent=2)
        )
        environment: codebuild.CfnProject.EnvironmentProperty = cfn_project.environment  # type: ignore[assignment]
        cfn_project.environment = codebuild.CfnProject.EnvironmentProperty(
            compute_type=environment.compute_type,
            image=environment.image,
            type=environment.type,
            image_pull_credentials_type=environment.image_pull_credentials_type,
            privileged_mode=environment.privileged_mode,
            environment_variables=[
                codebuild.CfnProject.EnvironmentVariableProperty(
                    name=LOG_GROUP_VARIABLE, type="PLAINTEXT", value=self.build_log_group.log_group_name
                )
            ],
        )
        cfn_project.name = self.project_name
        cfn_project.timeout_in_minutes = BUILD_TIMEOUT_MINUTES
        cfn_project.logs_config = codebuild.CfnProject.LogsConfigProperty(
            cloud_watch_logs=codebuild.CfnProject.CloudWatchLogsConfigProperty(
                status="ENABLED", group_name=self.build_log_group.log_group_name
            )
        )

        # Replace everything the construct granted (a managed policy, wildcards on the whole asset bucket and
        # on report groups) with exact statements.
        role = self.project.role
        assert role is not None
        cfn_role: iam.CfnRole = role.node.default_child  # type: ignore[assignment]
        cfn_role.managed_policy_arns = None
        cfn_policy: iam.CfnPolicy = role.node.find_child("DefaultPolicy").node.default_child  # type: ignore[assignment]
        cfn_policy.policy_document = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="PushToThisRepositoryOnly", actions=list(PUSH_ACTIONS), resources=[repository.repository_arn]
                ),
                iam.PolicyStatement(
                    sid="ReadThisSourceArchiveOnly",
                    actions=["s3:GetObject"],
                    resources=[self.source.bucket.arn_for_objects(self.source.s3_object_key)],
                ),
                iam.PolicyStatement(
                    sid="WriteTheBuildLog", actions=list(LOG_ACTIONS), resources=[self.build_log_group.log_group_arn]
                ),
                iam.PolicyStatement(sid="LogInToTheRegistries", actions=list(LOGIN_ACTIONS), resources=["*"]),
            ]
        )

    def _harden_handler(self) -> None:
        cfn_function: lambda_.CfnFunction = self.handler.node.default_child  # type: ignore[assignment]
        cfn_function.logging_config = lambda_.CfnFunction.LoggingConfigProperty(
            log_group=self.handler_log_group.log_group_name
        )
        cfn_function.memory_size = HANDLER_MEMORY_MIB
        cfn_function.runtime = HANDLER_RUNTIME.name
        cfn_function.architectures = [lambda_.Architecture.ARM_64.name]
        role = self.handler.role
        assert role is not None
        cfn_role: iam.CfnRole = role.node.default_child  # type: ignore[assignment]
        cfn_role.managed_policy_arns = None
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteTheHandlerLog", actions=list(LOG_ACTIONS), resources=[self.handler_log_group.log_group_arn]
            )
        )

    def _acknowledge_findings(self) -> None:
        project_policy = self.project.role.node.find_child("DefaultPolicy")  # type: ignore[union-attr]
        acknowledge(
            project_policy,
            nag=["AwsSolutions-IAM5[Resource::*]"],
            checkov=["CKV_AWS_107"],
            reason="The build must log in to push the image to this repository and to pull the public base image; "
            "the ECR and ECR Public login calls have no resource-level permissions, and their tokens stay inside "
            "the build container and expire within twelve hours.",
        )
        acknowledge(
            self.project,
            nag=["AwsSolutions-CB4"],
            reason="The build produces no artifacts to encrypt: its only output is the image, which ECR encrypts at "
            "rest, and its log, which CloudWatch Logs encrypts; a customer managed key would protect nothing more.",
        )
        acknowledge(
            self.handler,
            nag=["Serverless-LambdaDLQ"],
            checkov=["CKV_AWS_116"],
            reason="CloudFormation invokes the handler and waits for the build's answer, so a failed start fails the "
            "deploy; a dead-letter queue would hold a request that nobody answers any more.",
        )
        acknowledge(
            self.handler,
            nag=["Serverless-LambdaTracing"],
            reason="The handler runs once per image change for under a second to start one build; a trace would show "
            "a single call and need X-Ray permissions on every resource.",
        )
        acknowledge(
            self.handler,
            checkov=["CKV_AWS_117"],
            reason="The handler only calls the public CodeBuild endpoint once per image change, so a VPC would add NAT "
            "or endpoint costs without reaching anything private.",
        )
        acknowledge(
            self.handler,
            checkov=["CKV_AWS_115"],
            reason="The handler runs once per image change; reserving concurrency for it would take capacity from the "
            "account for nothing and fails on new accounts whose total concurrency is ten.",
        )
