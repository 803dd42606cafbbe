from setuptools import find_packages, setup

package_name = "walkout_common"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{package_name}"]),
        (f"share/{package_name}", ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="Walkout developers",
    maintainer_email="dev@walkout.example",
    description="Walkout's shared core: store files, data types, bag I/O, images.",
    license="Apache-2.0",
    tests_require=["pytest"],
)
