"""Pushes a Helm chart .tgz as a Helm OCI artifact with the oras Python SDK, as `helm push`
lays it out (a config of type application/vnd.cncf.helm.config.v1+json, one chart layer).

usage: oras_push_chart.py REFERENCE CHART_TGZ CONFIG_JSON   (plain HTTP)
"""

import os
import sys

import oras.client


def main() -> int:
    reference, chart, config = sys.argv[1:4]
    os.chdir(os.path.dirname(os.path.abspath(chart)))
    client = oras.client.OrasClient(insecure=True)
    client.push(
        target=reference,
        files=[
            os.path.basename(chart) + ":application/vnd.cncf.helm.chart.content.v1.tar+gzip"
        ],
        manifest_config=os.path.abspath(config) + ":application/vnd.cncf.helm.config.v1+json",
        disable_path_validation=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
