"""What the Python benchmark scripts share: finding the built module, and
naming the machine a table was measured on."""
import os
import pathlib
import platform
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def import_hyena(module_dir=None):
    """The hyena module from `module_dir`, else from the usual build folders."""
    candidates = [module_dir] if module_dir else [ROOT / "build" / d / "python" / "module"
                                                  for d in ("python", "tests", "dev", "bench", ".")]
    for d in candidates:
        if d and pathlib.Path(d).is_dir() and any(pathlib.Path(d).glob("hyena*.so")):
            sys.path.insert(0, str(d))
            import hyena
            return hyena
    sys.exit("error: the hyena module is not built: run bash python/install.sh (or pass --module-dir)")


def machine():
    """'<CPU model>, <AVX-512 | AVX2 | SSE>, <n> cores', from /proc/cpuinfo."""
    with open("/proc/cpuinfo") as f:
        lines = f.read().splitlines()
    model = next((x.split(":", 1)[1].strip() for x in lines if x.startswith("model name")), platform.processor())
    flags = next((x for x in lines if x.startswith("flags")), "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    return f"{model}, {isa}, {os.cpu_count()} cores"
