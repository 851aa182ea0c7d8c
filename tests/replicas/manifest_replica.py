"""Starts a server the way a generated deploy/kubernetes.yaml starts it, on loopback.

    manifest_replica.py MANIFEST BINARY [FLAG=VALUE ...]

The container's args are taken from the manifest's Deployment, and its environment is built
only from the manifest's `env` entries (nothing is inherited but PATH): each `secretKeyRef` or
`configMapKeyRef` key is looked up in this process's environment, which stands for the Secret
and ConfigMap an operator creates. A key the environment lacks is an error, so the manifest and
the test cannot drift apart silently. The FLAG=VALUE arguments replace the manifest's flag of the
same name (addresses are the cluster's, not loopback's); `--public-url` and `--auth-issuer` are
dropped when `--insecure-no-auth` is given, since no authorization server runs on loopback.
Everything else (the shared key, the state URL) comes from the manifest alone: a replica started
here shares state with the others only if the manifest wires it to.
"""

import os
import sys

import yaml


def container(manifest_path):
    with open(manifest_path) as f:
        for document in yaml.safe_load_all(f):
            if document and document.get("kind") == "Deployment":
                return document["spec"]["template"]["spec"]["containers"][0]
    sys.exit(f"{manifest_path}: no Deployment")


def flag_name(arg):
    return arg.split("=", 1)[0]


def main():
    manifest_path, binary, *overrides = sys.argv[1:]
    server = container(manifest_path)
    replaced = {flag_name(arg) for arg in overrides}
    if "--insecure-no-auth" in replaced:
        replaced |= {"--public-url", "--auth-issuer"}
    args = [arg for arg in server.get("args", []) if flag_name(arg) not in replaced]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    missing = []
    for entry in server.get("env", []):
        source = entry.get("valueFrom", {})
        ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        elif ref and ref["key"] in os.environ:
            env[entry["name"]] = os.environ[ref["key"]]
        else:
            missing.append(entry["name"])
    if missing:
        sys.exit(f"{manifest_path}: the test provides no value for {', '.join(missing)}")
    os.execve(binary, [binary, *args, *overrides], env)


if __name__ == "__main__":
    main()
