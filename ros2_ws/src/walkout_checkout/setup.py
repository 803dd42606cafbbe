from glob import glob

from setuptools import find_packages, setup

package_name = "walkout_checkout"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    package_data={package_name: ["models/*.onnx", "models/*.json"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
        (f"share/{package_name}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="Walkout developers",
    maintainer_email="dev@walkout.example",
    description="Walkout checkout bridge: receipts from closed baskets, durable store, review, commerce outbox.",
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "checkout_node = walkout_checkout.checkout_node:main",
            "checkout_bench = walkout_checkout.bench:main",
            "checkout_admin = walkout_checkout.admin:main",
        ],
    },
)
