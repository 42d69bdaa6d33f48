"""Validates Kubernetes manifests against the API schemas that kubernetes-validate ships, offline.

Usage: python validate-kubernetes.py KUBERNETES_VERSION FILE...

Every object of a built-in kind is checked strictly (an unknown field is an error) against the
given Kubernetes version. Objects of the custom resource kinds listed below are not: the package
ships no schema for them, and the operators publish theirs only with their own installs. Each
such object is reported as skipped, with the reason, after a check of its identity (apiVersion,
kind, metadata.name). An object of any other kind without a schema is an error, so a misspelt
apiVersion of a built-in kind cannot pass unchecked. Exit status: 0 when nothing failed.
"""

import sys

import yaml
from kubernetes_validate import utils

# Custom resources, by apiVersion and kind, with the operator whose CRD defines them.
CUSTOM_RESOURCES = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "Prometheus Operator",
    ("kafka.strimzi.io/v1beta2", "Kafka"): "Strimzi",
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"): "Strimzi",
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): "Strimzi",
    ("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity"): "MongoDB Community Operator",
    ("kubernetes.kurrent.io/v1", "KurrentDB"): "KurrentDB Operator",
    ("cert-manager.io/v1", "Issuer"): "cert-manager",
    ("cert-manager.io/v1", "Certificate"): "cert-manager",
}


def objects_in(path):
    with open(path, encoding="utf-8") as handle:
        return [document for document in yaml.safe_load_all(handle) if document]


def check(path, document, version):
    """Returns (outcome, message); outcome is 'passed', 'skipped' or 'failed'."""
    api_version = document.get("apiVersion")
    kind = document.get("kind")
    name = (document.get("metadata") or {}).get("name")
    label = f"{path}: {kind}/{name} ({api_version})"
    if not api_version or not kind or not name:
        return "failed", f"{label}: apiVersion, kind and metadata.name are required"
    operator = CUSTOM_RESOURCES.get((api_version, kind))
    if operator is not None:
        reason = f"custom resource ({operator}): kubernetes-validate ships no schema for it"
        return "skipped", f"{label}: {reason}"
    try:
        utils.validate(document, version, strict=True)
    except utils.ValidationError as error:
        where = ".".join(str(part) for part in error.path) or "(top)"
        return "failed", f"{label}: {where}: {error.message}"
    except utils.SchemaNotFoundError:
        return "failed", f"{label}: no schema for this kind in Kubernetes {version}, and not a known custom resource"
    return "passed", label


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    version, paths = argv[1], argv[2:]
    counts = {"passed": 0, "skipped": 0, "failed": 0}
    for path in paths:
        documents = objects_in(path)
        if not documents:
            print(f"FAILED {path}: no Kubernetes object in the file")
            counts["failed"] += 1
        for document in documents:
            outcome, message = check(path, document, version)
            counts[outcome] += 1
            print(f"{outcome.upper()} {message}")
    print(
        f"kubernetes {version}: {counts['passed']} objects valid, "
        f"{counts['skipped']} custom resources skipped, {counts['failed']} failed"
    )
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
