import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def readme() -> str:
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'saip_mm', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def requirements(name: str) -> list:
    """Package names of ``requirements/<name>.txt`` (comments and blank lines skipped; the versions
    that the scripted install uses are pinned in ``requirements/constraints.txt``)."""
    path = osp.join(HERE, 'requirements', f'{name}.txt')
    if not osp.isfile(path):  # an sdist built without requirements/
        return []
    with open(path, encoding='utf-8') as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]


def add_mim_extension() -> None:
    """Expose ``configs/``, ``tools/``, ``demo/`` (the demo config's data) and ``model-index.yml`` (what
    ``mim search`` reads) as ``saip_mm/.mim/`` so that ``mim`` finds them, from any working directory.

    Editable (``pip install -e``, PEP 660) and ``develop`` installs get symlinks, so edits to the
    configs are seen at once; regular installs (``bdist_wheel``/``install``) get copies.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('sdist', 'bdist_wheel', 'install', 'build')):
        mode = 'copy'
    else:
        return
    mim_path = osp.join(HERE, 'saip_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ('configs', 'tools', 'requirements', 'demo', 'model-index.yml'):
        src = osp.join(HERE, name)
        dst = osp.join(mim_path, name)
        if not osp.exists(src):  # e.g. an sdist without demo/
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), dst)
        elif osp.isfile(src):
            shutil.copy2(src, dst)
        else:
            shutil.copytree(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='saip_mm',
        version=version(),
        description='Scale-Aware Image Pretraining (SAIP) for lightweight human-centric models, '
        'as an OpenMMLab 2.x plugin',
        long_description=readme(),
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'tests.*')),
        include_package_data=True,
        package_data={'saip_mm': ['.mim/configs/**/*', '.mim/tools/**/*', '.mim/requirements/*',
                                  '.mim/demo/**/*', '.mim/model-index.yml']},
        python_requires='>=3.8',
        # what a plain `pip install .` can honour; mmcv with compiled ops and mmpose (whose chumpy
        # dependency does not build) come from tools/install.sh, the supported path
        install_requires=requirements('runtime'),
        extras_require=dict(tests=requirements('tests')),
        license='Apache License 2.0',
        zip_safe=False,
    )
