"""The cloud image build: `lambda_image/` built natively in AWS CodeBuild at deploy time, pushed to the registry.

Our own CodeBuild project builds the image. A custom resource served by CDK's provider framework
(`custom_resources.Provider`) starts the build and waits for it with two small Python handlers
(`stacks/cloud_image_handler/`). What each part guarantees:

- The tag is the hash of the image's build context and platform (`image_tag`), so the custom resource's
  properties change only when `lambda_image/` changes, and CloudFormation sends no request otherwise.
- The start handler looks the tag up first and starts no build when it is in the repository: a rollback, or a
  redeploy after a destroy that kept the repository, returns to an existing tag instead of pushing it again.
- The check handler fails the deploy with one line naming the build, how it ended and where its log is; the
  framework answers CloudFormation with that line first (it adds a pointer to the check function's default log
  group and its own stack trace below it).
- Every role holds exact statements: the project's may push to this repository, read this one source archive,
  write its own log group and log in to ECR and ECR Public. The handlers' may start, or read, builds of this one
  project, look tags up in this repository and write their own log group.
- Log groups have generated names, the stage's retention period and its removal policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from aws_cdk import CfnResource, CustomResource, Duration, FileSystem, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from stacks.compliance import acknowledge
from stacks.log_groups import log_group
from stacks.registry import PUSH_ACTIONS
from stacks.removal import Removal

_Resource = TypeVar("_Resource", bound=CfnResource)

# Tags of images built in the cloud start with this, so the repository shows which builder made an image.
TAG_PREFIX = "cloud-"
# The image builds in one to three minutes; a build still running after this is stuck.
BUILD_TIMEOUT_MINUTES = 15
# A build waiting this long for a build machine gives up (CodeBuild's shortest queue timeout).
QUEUED_TIMEOUT_MINUTES = 5
# How often the framework asks the check handler whether the build is over.
QUERY_INTERVAL = Duration.seconds(30)
# The framework answers "Operation timed out" after this: a build's longest queue and run, plus provisioning.
WAIT_TIMEOUT = Duration.minutes(QUEUED_TIMEOUT_MINUTES + BUILD_TIMEOUT_MINUTES + 5)
# CloudFormation waits this long for any answer (its default is an hour): the framework's wait and a margin, so
# a framework that cannot answer at all still fails the deploy in bounded time.
ANSWER_TIMEOUT = Duration.minutes(WAIT_TIMEOUT.to_minutes() + 5)
# The handlers make one or two API calls per invocation.
HANDLER_MEMORY_MIB = 128
HANDLER_TIMEOUT = Duration.seconds(30)
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
HANDLER_DIRECTORY = Path(__file__).resolve().parent / "cloud_image_handler"
# CodeBuild's images with Docker, one per CPU architecture: the build runs natively for the function.
BUILD_IMAGES: dict[str, codebuild.IBuildImage] = {
    lambda_.Architecture.ARM_64.name: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2_STANDARD_3_0,
    lambda_.Architecture.X86_64.name: codebuild.LinuxBuildImage.STANDARD_7_0,
}
# The two calls that log in to ECR and to ECR Public (for the base image) have no resource-level permissions.
LOGIN_ACTIONS = ("ecr:GetAuthorizationToken", "ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
LOOK_UP_TAG_ACTIONS = ("ecr:DescribeImages",)

# What a build runs, with the variables the start handler sets (stacks/cloud_image_handler/image_build.py). All in
# one phase: a failing command ends the phase and fails the build, so nothing after it runs.
# `--provenance=false`: Lambda refuses image indexes, and without provenance buildx writes a single manifest.
BUILDSPEC: dict[str, Any] = {
    "version": "0.2",
    "phases": {
        "build": {
            "commands": [
                'aws ecr get-login-password --region "$AWS_REGION" '
                '| docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"',
                "aws ecr-public get-login-password --region us-east-1 "
                "| docker login --username AWS --password-stdin public.ecr.aws",
                'aws s3 cp "$SOURCE_URL" source.zip',
                "unzip -q source.zip -d context",
                'docker buildx build --platform "$PLATFORM" --provenance=false --load '
                '--tag "$REPOSITORY_URI:$IMAGE_TAG" context',
                'docker push "$REPOSITORY_URI:$IMAGE_TAG"',
            ]
        },
    },
}

# Kept from the first cloud build (cdklabs-deploy-time-build), so that an upgraded stack updates these two in
# place: CloudFormation refuses to change the type of a resource, and the project has a fixed name, which a
# project under a new id would claim before the old one is deleted.
RESOURCE_TYPE = "Custom::CDKContainerImageBuild"
BUILD_RESOURCE_ID = "CloudImageBuild69FFC561"
PROJECT_ID = "ContainerImageBuildArm64e83729feb1564e709bec452b15847a30amd64C13E3549"


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


class CloudImageBuild(Construct):
    """Builds `directory` for `architecture` in CodeBuild during the deploy and pushes it to `repository`.

    `code` is the function's image code; it refers to the tag the build resource answers, so the function is
    created or updated only after the image is in the repository.
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
        stack = Stack.of(self)
        self.platform = architecture.docker_platform
        self.tag = image_tag(directory, self.platform)
        # Generated names: a group retained by a destroy or a failed first deploy never blocks the next deploy.
        self.build_log_group = self._log_group("BuildLogs", log_retention_days, removal.policy)
        self.handler_log_group = self._log_group("HandlerLogs", log_retention_days, removal.policy)
        self.source = s3_assets.Asset(
            self, "Source", path=str(directory), exclude=build_context_ignore(directory), ignore_mode=IgnoreMode.DOCKER
        )

        self.project_role = iam.Role(
            self,
            "ProjectRole",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description="Builds the function's image from its source archive and pushes it to the registry",
        )
        for statement in self._project_statements(repository):
            self.project_role.add_to_policy(statement)
        # A name to find the project by in the console.
        self.project_name = f"{stack.stack_name}-image-build"
        self.project = codebuild.Project(
            self,
            "Project",
            project_name=self.project_name,
            description=f"Builds {directory.name}/ for {self.platform} while the stack deploys",
            build_spec=codebuild.BuildSpec.from_object(BUILDSPEC),
            environment=codebuild.BuildEnvironment(
                build_image=BUILD_IMAGES[architecture.name],
                compute_type=codebuild.ComputeType.SMALL,
                # The build runs its own Docker engine.
                privileged=True,
            ),
            timeout=Duration.minutes(BUILD_TIMEOUT_MINUTES),
            queued_timeout=Duration.minutes(QUEUED_TIMEOUT_MINUTES),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.build_log_group)
            ),
            # The statements above are the project's only ones: the grants the construct would add (its default
            # log group, report groups) are left out.
            role=self.project_role.without_policy_updates(),
        )
        self._keep_logical_id(self.project, PROJECT_ID)

        self.start_handler = self._handler("Start", "image_build.on_event", "Starts the image build of a new tag")
        self.check_handler = self._handler("Check", "image_build.is_complete", "Tells whether the image build is over")
        self._grant_handlers(repository)
        self.framework_on_event_role = self._framework_role("ProviderOnEventRole")
        self.framework_complete_role = self._framework_role("ProviderCompleteRole")
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.start_handler,
            is_complete_handler=self.check_handler,
            query_interval=QUERY_INTERVAL,
            total_timeout=WAIT_TIMEOUT,
            log_group=self.handler_log_group,
            # The framework logs each request and answer at INFO (its default keeps only fatal errors): the one
            # trace of what CloudFormation asked when a deploy hangs or fails oddly.
            framework_lambda_logging_level=lambda_.ApplicationLogLevel.INFO,
            framework_on_event_role=self.framework_on_event_role,
            framework_complete_and_timeout_role=self.framework_complete_role,
        )

        self.custom_resource = CustomResource(
            self,
            "Build",
            service_token=self.provider.service_token,
            resource_type=RESOURCE_TYPE,
            service_timeout=ANSWER_TIMEOUT,
            properties={
                "ImageTag": self.tag,
                "Platform": self.platform,
                "RepositoryName": repository.repository_name,
                "RepositoryUri": repository.repository_uri,
                "SourceUrl": self.source.s3_object_url,
                "ProjectName": self.project.project_name,
            },
        )
        self._keep_logical_id(self.custom_resource, BUILD_RESOURCE_ID)
        # A build starts only once its role may do its work and its log group exists.
        self.custom_resource.node.add_dependency(self.project_role, self.build_log_group)
        self.code = lambda_.DockerImageCode.from_ecr(
            repository, tag_or_digest=self.custom_resource.get_att_string("ImageTag")
        )
        self._acknowledge_findings()

    @staticmethod
    def _keep_logical_id(construct: IConstruct, logical_id: str) -> None:
        resource: CfnResource = construct.node.default_child  # type: ignore[assignment]
        resource.override_logical_id(logical_id)

    def _log_group(self, id_: str, retention_days: int, removal: RemovalPolicy) -> logs.LogGroup:
        group = log_group(self, id_, retention_days=retention_days, removal=removal)
        acknowledge(
            group,
            checkov=["CKV_AWS_158"],
            reason="CloudWatch Logs encrypts every log group at rest with its own keys; build and handler logs hold "
            "no secrets, so a customer managed key would add cost and a key policy without a reader who needs it.",
        )
        return group

    def _project_statements(self, repository: ecr.IRepository) -> list[iam.PolicyStatement]:
        return [
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

    def _handler(self, id_: str, handler: str, description: str) -> lambda_.Function:
        role = iam.Role(self, f"{id_}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(self._write_handler_log())
        return lambda_.Function(
            self,
            id_,
            description=description,
            code=lambda_.Code.from_asset(str(HANDLER_DIRECTORY), exclude=["__pycache__", "*.pyc"]),
            handler=handler,
            runtime=HANDLER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=HANDLER_MEMORY_MIB,
            timeout=HANDLER_TIMEOUT,
            role=role,
            log_group=self.handler_log_group,
        )

    def _grant_handlers(self, repository: ecr.IRepository) -> None:
        look_up = iam.PolicyStatement(
            sid="LookUpTagsInThisRepositoryOnly",
            actions=list(LOOK_UP_TAG_ACTIONS),
            resources=[repository.repository_arn],
        )
        self.start_handler.add_to_role_policy(look_up)
        self.start_handler.add_to_role_policy(
            iam.PolicyStatement(
                sid="StartThisProjectOnly", actions=["codebuild:StartBuild"], resources=[self.project.project_arn]
            )
        )
        self.check_handler.add_to_role_policy(look_up)
        self.check_handler.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadBuildsOfThisProjectOnly",
                actions=["codebuild:BatchGetBuilds"],
                resources=[self.project.project_arn],
            )
        )

    def _framework_role(self, id_: str) -> iam.Role:
        """A role for the provider framework's functions: they write the handlers' log group; the framework adds
        the calls it makes (invoke the handlers, start its waiter)."""
        role = iam.Role(self, id_, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(self._write_handler_log())
        return role

    def _write_handler_log(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid="WriteTheHandlerLog", actions=list(LOG_ACTIONS), resources=[self.handler_log_group.log_group_arn]
        )

    def _framework_resources(self, kind: type[_Resource]) -> list[_Resource]:
        """The provider framework's own resources of one kind (its functions, its waiter and the waiter's policy).

        CDK creates them inside the `Provider` and exposes none of them; they are only read here, to attach the
        reasons for their findings to each of them rather than to a wider scope.
        """
        return [c for c in self.provider.node.find_all() if isinstance(c, kind)]

    def _acknowledge_findings(self) -> None:
        project_policy = self.project_role.node.find_child("DefaultPolicy")
        acknowledge(
            project_policy,
            nag=["AwsSolutions-IAM5[Resource::*]"],
            checkov=["CKV_AWS_107"],
            reason="The build must log in to push the image to this repository and to pull the public base image, "
            "and the ECR and ECR Public login calls have no resource-level permissions; they only return login "
            "tokens, which stay inside the build container and expire within twelve hours, and the push itself is "
            "limited to this repository by the statement beside them.",
        )
        acknowledge(
            self.project,
            nag=["AwsSolutions-CB4"],
            reason="The build produces no artifacts to encrypt: its only output is the image, which ECR encrypts at "
            "rest, and its log, which CloudWatch Logs encrypts; a customer managed key would protect nothing more.",
        )
        # What the provider framework grants by itself: invoke on each handler and on its versions (`:*`).
        for role in (self.framework_on_event_role, self.framework_complete_role):
            for handler in (self.start_handler, self.check_handler):
                acknowledge(
                    role.node.find_child("DefaultPolicy"),
                    nag=[f"AwsSolutions-IAM5[Resource::<{self._logical_id(handler)}.Arn>:*]"],
                    reason="The provider framework grants invoke on the handler and on its versions; the handler "
                    "publishes no version, so the grant reaches this one function only.",
                )
        framework_functions = self._framework_resources(lambda_.CfnFunction)
        # The waiter calls the framework's check and timeout functions; its onEvent function starts the waiter.
        waited_on = [f for f in framework_functions if f.handler != "framework.onEvent"]
        for policy in self._framework_resources(iam.CfnPolicy):
            for function in waited_on:
                acknowledge(
                    policy,
                    nag=[f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(function)}.Arn>:*]"],
                    reason="The provider framework lets its waiter invoke the framework's check and timeout functions "
                    "and their versions; those functions publish no version, so the grant reaches them only.",
                )
        for machine in self._framework_resources(sfn.CfnStateMachine):
            self._acknowledge_waiter(machine)
        for handler in (self.start_handler, self.check_handler):
            self._acknowledge_function(handler)
        for function in framework_functions:
            self._acknowledge_function(function)
            acknowledge(
                function,
                nag=["Serverless-LambdaDefaultMemorySize"],
                reason="The provider framework's functions are the CDK's own, with its default memory and no setting "
                "for it; they only relay calls between CloudFormation, the waiter and the handlers.",
            )
            acknowledge(
                function,
                checkov=["CKV_AWS_173"],
                reason="The provider framework's environment holds only the ARNs of the handlers and of its waiter, no "
                "secrets, and Lambda already encrypts it at rest with an AWS managed key.",
            )

    def _logical_id(self, construct: IConstruct) -> str:
        resource: CfnResource = construct.node.default_child  # type: ignore[assignment]
        return Stack.of(self).get_logical_id(resource)

    @staticmethod
    def _acknowledge_waiter(machine: IConstruct) -> None:
        acknowledge(
            machine,
            nag=["AwsSolutions-SF1"],
            reason="The waiter only calls the framework's check function at a fixed interval; Step Functions keeps "
            "each execution's history for 90 days, and execution logs would need log-delivery actions on every "
            "resource.",
        )
        for rule in ("AwsSolutions-SF2", "Serverless-StepFunctionStateMachineXray"):
            acknowledge(
                machine,
                nag=[rule],
                reason="The waiter runs one task in a loop and the provider framework has no tracing setting for it; "
                "a trace would show the same retries as the execution history.",
            )

    @staticmethod
    def _acknowledge_function(function: IConstruct) -> None:
        acknowledge(
            function,
            nag=["Serverless-LambdaDLQ"],
            checkov=["CKV_AWS_116"],
            reason="The function is invoked synchronously while the stack deploys and any error fails the deploy; a "
            "dead-letter queue would hold requests that nobody answers any more.",
        )
        acknowledge(
            function,
            nag=["Serverless-LambdaTracing"],
            reason="The function runs a few times per image change, each time for a second or less to make one or two "
            "calls; a trace would show those calls and need X-Ray permissions on every resource.",
        )
        acknowledge(
            function,
            checkov=["CKV_AWS_117"],
            reason="The function only calls public AWS endpoints a few times per image change, so a VPC would add NAT "
            "or endpoint costs without reaching anything private.",
        )
        acknowledge(
            function,
            checkov=["CKV_AWS_115"],
            reason="The function runs a few times per image change; reserving concurrency for it would take capacity "
            "from the account for nothing and fails on new accounts whose total concurrency is ten.",
        )
