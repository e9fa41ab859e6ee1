"""pip install --no-build-isolation .   (Debian's python3-pip, python3-setuptools, python3-wheel)

Builds the extension kiln._kiln with the project's CMake build (the same target `make build` builds, in
build/ unless KILN_BUILD_DIR names another tree; an existing tree is reused, so it is incremental) and
installs it with the pure-Python package python/kiln. Nothing is fetched from a network registry.
"""
import glob
import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        for line in f:
            if line.startswith("project(kiln VERSION"):
                return line.split("VERSION")[1].split()[0]
    raise RuntimeError("no project version in CMakeLists.txt")


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.path.abspath(os.environ.get("KILN_BUILD_DIR", os.path.join(ROOT, "build")))
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"])
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "kiln_python", "-j",
                               os.environ.get("JOBS", "2")])
        built = glob.glob(os.path.join(build_dir, "python", "kiln", "_kiln*.so"))
        if len(built) != 1:
            raise RuntimeError("expected one kiln/_kiln*.so in %s/python, found %s" % (build_dir, built))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    name="kiln",
    version=version(),
    description="Ahead-of-time compiler and runtime for transformer inference on CPUs",
    packages=["kiln"],
    package_dir={"": "python"},
    ext_modules=[Extension("kiln._kiln", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    install_requires=["numpy"],
    zip_safe=False,
)
