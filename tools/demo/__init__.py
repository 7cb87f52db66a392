"""`make demo`: the whole mailer on this machine, from the synthesized templates, with no AWS account and no Docker.

- `templates`: the function stack's template in cdk.out, and how its references resolve to emulated resources;
- `emulator`: moto's threaded server on loopback (the local stand-in for AWS) holding the template's resources;
- `runtime_api`: the Lambda Runtime API the image's own runtime client (`awslambdaric`) talks to, and that client;
- `event_source`: the SQS event source mapping (batch size, partial batch responses, visibility, redrive);
- `mail`: what a sent mail carries, written as `.eml` files and one HTML page;
- `scenario`: the story `make demo` tells, step by step.
"""

# Importing the app's package makes the function's own `inbox_mailer` importable (stacks/__init__.py).
import stacks  # noqa: F401
