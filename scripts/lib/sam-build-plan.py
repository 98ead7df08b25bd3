"""What `sam build` would build, read with SAM CLI's own template providers
(the code `sam build` and `sam deploy` run before anything else), offline.

`sam validate --lint` accepted a template these providers could not read
(Fn::ForEach resources: aws/aws-sam-cli#5647), so a first `sam build` would
have failed; this catches that class of break in seconds. It also checks
that every function is built by cargo-lambda from a binary that exists
under functions/.
"""
import pathlib
import sys

from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

template = sys.argv[1]
stacks, _ = SamLocalStackProvider.get_stacks(template, parameter_overrides={})
functions = list(SamFunctionProvider(stacks, ignore_code_extraction_warnings=True).get_all())
crates = {p.name for p in pathlib.Path("functions").iterdir() if p.is_dir()}
problems = []
for f in functions:
    meta = f.metadata or {}
    binary = (meta.get("BuildProperties") or {}).get("Binary")
    if meta.get("BuildMethod") != "rust-cargolambda":
        problems.append(f"{f.name}: BuildMethod {meta.get('BuildMethod')!r}")
    if binary not in crates:
        problems.append(f"{f.name}: Binary {binary!r} is not a crate under functions/")
built = {(f.metadata.get("BuildProperties") or {}).get("Binary") for f in functions}
problems += [f"functions/{c} is built by no function" for c in sorted(crates - built)]
if problems:
    sys.exit("sam build plan:\n  " + "\n  ".join(problems))
print(f"sam build plan: {len(functions)} functions, each `cargo lambda build` of its own binary")
