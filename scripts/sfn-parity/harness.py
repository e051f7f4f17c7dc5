#!/usr/bin/env python3
"""Replay AWS-recorded Step Functions executions (LocalStack parity snapshots)
against the local `statemachine run` CLI and report how many match.

Usage (from the repository root, after `cargo build -p statemachine`):
  python3 -m pip install --target .tools/py-json5 json5
  python3 scripts/sfn-parity/harness.py --localstack PATH [--bin PATH] [--filter SUBSTR]
                                        [--jobs N] [--list] [--report PATH] [--quiet]

PATH is a LocalStack checkout (a clone or a bare git directory): its snapshots are read at run
time, extracted once into target/sfn-parity/lsrc; nothing of it is copied into this repository.
This is a measurement, not a test: `./dev test` does not run it (it needs the checkout).

Cases the plain pass skips for runtime values, service Task states or Map ItemReaders are
re-interpreted in an extended pass: fixture values become placeholder ARNs/URLs/names (`Sym`),
every Task outcome of the recorded history becomes a Step Functions Local mock (--mocks), and
objects the test uploads with put_object are written to an --objects folder.  Totals are kept
per kind (plain / mocked / item-reader) so the plain cases stay comparable.
"""
import argparse
import ast
import collections
import concurrent.futures as cf
import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(REPO, "target", "sfn-parity")  # work files: extracted sources, reports
os.makedirs(HERE, exist_ok=True)
sys.path.insert(0, os.path.join(REPO, ".tools", "py-json5"))
try:
    import json5  # noqa: E402
except ImportError:
    sys.exit("json5 is missing: python3 -m pip install --target .tools/py-json5 json5")


def _localstack_arg():
    for i, arg in enumerate(sys.argv):
        if arg == "--localstack" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if arg.startswith("--localstack="):
            return arg.split("=", 1)[1]
    return os.environ.get("LOCALSTACK_CHECKOUT", "")


MIRROR = _localstack_arg()  # a LocalStack clone or bare git directory
LSRC = os.path.join(HERE, "lsrc")  # extracted `tests/` of the checkout
SFN_DIR = os.path.join(LSRC, "aws/services/stepfunctions")
V2_DIR = os.path.join(SFN_DIR, "v2")


def ensure_sources():
    """Extract tests/aws/services/stepfunctions from the mirror (HEAD) once."""
    stamp = os.path.join(HERE, "lsrc.commit")
    head = subprocess.run(["git", "-C", MIRROR, "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    if os.path.isdir(SFN_DIR) and os.path.exists(stamp) and open(stamp).read().strip() == head:
        return head
    tmp = tempfile.mkdtemp(dir=HERE)
    p1 = subprocess.Popen(["git", "-C", MIRROR, "archive", "HEAD", "tests/aws/services/stepfunctions"],
                          stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", tmp], stdin=p1.stdout, check=True)
    p1.wait()
    if os.path.isdir(LSRC):
        subprocess.run(["rm", "-rf", LSRC], check=True)
    os.rename(os.path.join(tmp, "tests"), LSRC)
    os.rmdir(tmp)
    open(stamp, "w").write(head + "\n")
    return head


# --------------------------------------------------------------------------------------
# A tiny, safe evaluator for the subset of Python used by the LocalStack test modules.
# --------------------------------------------------------------------------------------

class Unknown(Exception):
    """Raised when an expression depends on something we cannot know (AWS resources,
    random ids, unsupported constructs)."""


UNKNOWN = object()

# Extended mode (mocked service tasks / ItemReader objects): values of fixtures and AWS calls the
# test makes (created functions, queues, topics, buckets, random names) become `Sym` strings,
# syntactically valid placeholder ARNs/URLs/names derived from the access path.  Off for the
# plain pass, so the plain cases are interpreted exactly as before.
EXTENDED = False
MOCK_REGION, MOCK_ACCOUNT = "us-east-1", "111111111111"


class Sym(str):
    """A runtime value the test obtained from AWS (or a random generator)."""

    def __new__(cls, path):
        s = str.__new__(cls, sym_value(path))
        s.path = tuple(path)
        return s

    def sub(self, tok):
        return Sym(self.path + (tok,))

    def __iter__(self):  # loops over AWS responses run zero times
        return iter(())


def sym_value(path):
    import hashlib
    toks = [str(t).lower() for t in path]
    whole = "/".join(toks)
    h = hashlib.md5(whole.encode()).hexdigest()[:8]
    key = toks[-1] if toks[-1] != "()" else (toks[-2] if len(toks) > 1 else "")
    r, a = MOCK_REGION, MOCK_ACCOUNT
    if "uid" in key or "uuid" in key:
        return f"mock{h}"
    if "functionarn" in key or (key.endswith("arn") and ("lambda" in whole or "function" in whole)):
        return f"arn:aws:lambda:{r}:{a}:function:mock-fn-{h}"
    if "functionname" in key or key in ("func_name", "function_name"):
        return f"mock-fn-{h}"
    if "queue" in whole:
        if key.endswith("arn"):
            return f"arn:aws:sqs:{r}:{a}:mock-queue-{h}"
        return f"https://sqs.{r}.amazonaws.com/{a}/mock-queue-{h}"
    if "topic" in whole:
        return f"arn:aws:sns:{r}:{a}:mock-topic-{h}"
    if "activity" in whole:
        return f"arn:aws:states:{r}:{a}:activity:mock-activity-{h}"
    if "execution" in whole and key.endswith("arn"):
        return f"arn:aws:states:{r}:{a}:execution:mock-sm-{h}:mock-exec"
    if ("statemachine" in whole or "state_machine" in whole) and ("arn" in key or key == "()" or "create" in whole):
        return f"arn:aws:states:{r}:{a}:stateMachine:mock-sm-{h}"
    if key.endswith("arn"):
        return f"arn:aws:iam::{a}:role/mock-role-{h}"
    if "bucket" in whole:
        return f"mock-bucket-{h}"
    if "table" in whole:
        return f"mock-table-{h}"
    return f"mock-{h}"


class FuncRef:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<func {self.name}>"


class ModRef:
    def __init__(self, name):
        self.name = name


class ApiEnumRef:
    """localstack.aws.api.* StrEnum classes: X.Y evaluates to the string "Y"."""
    def __init__(self, name):
        self.name = name


class ClassRef:
    def __init__(self, module, node):
        self.module = module
        self.node = node
        self.name = node.name
        self._attrs = {}
        for st in node.body:
            if isinstance(st, ast.Assign):
                for t in st.targets:
                    if isinstance(t, ast.Name):
                        self._attrs[t.id] = st.value
            elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and st.value is not None:
                self._attrs[st.target.id] = st.value
        self._cache = {}

    def getattr(self, name):
        if name == "load_sfn_template":
            return FuncRef("load_sfn_template")
        if name in self._cache:
            return self._cache[name]
        if name in self._attrs:
            v = self.module.evaluator.eval(self._attrs[name], {})
            self._cache[name] = v
            return v
        # base classes defined in the same module
        for b in self.node.bases:
            if isinstance(b, ast.Name):
                try:
                    base = self.module.lookup(b.id)
                except Unknown:
                    continue
                if isinstance(base, ClassRef):
                    return base.getattr(name)
        raise Unknown(f"class attribute {self.name}.{name}")


class TemplatePath(str):
    """A path to a template file (so we can tell which template a case used)."""


_TEMPLATE_CACHE = {}


def load_template(path):
    if not isinstance(path, str) or not path.endswith(".json5"):
        raise Unknown(f"load_sfn_template({path!r})")
    if path not in _TEMPLATE_CACHE:
        with open(path) as f:
            _TEMPLATE_CACHE[path] = json5.load(f)
    return copy.deepcopy(_TEMPLATE_CACHE[path])


SAFE_METHODS = {
    str: {"replace", "format", "strip", "lstrip", "rstrip", "upper", "lower", "join", "split",
          "startswith", "endswith", "encode"},
    bytes: {"decode"},
    dict: {"get", "copy", "items", "keys", "values", "update", "pop", "setdefault"},
    list: {"append", "extend", "copy", "index", "insert", "pop"},
}

SAFE_BUILTINS = {
    "list": list, "dict": dict, "str": str, "int": int, "float": float, "len": len,
    "range": range, "enumerate": enumerate, "zip": zip, "sorted": sorted, "tuple": tuple,
    "bool": bool, "abs": abs, "min": min, "max": max, "set": set, "reversed": reversed,
    "True": True, "False": False, "None": None, "OrderedDict": collections.OrderedDict,
}

# Module-level names we know
KNOWN_CALLS = {
    "json.dumps": json.dumps,
    "json.loads": json.loads,
    "copy.deepcopy": copy.deepcopy,
    "os.path.join": os.path.join,
    "os.path.dirname": os.path.dirname,
    "os.path.realpath": os.path.realpath,
    "itertools.product": lambda *a, **k: list(__import__("itertools").product(*a, **k)),
    "is_aws_cloud": lambda: True,  # snapshots were recorded against AWS
}


class Evaluator:
    def __init__(self, module):
        self.module = module

    def lookup(self, name, env):
        if name in env:
            v = env[name]
            if v is UNKNOWN:
                why = env.get("__why__", {}).get(name)
                raise Unknown(f"{name} <- {why}" if why else f"name {name} has an unknown value")
            return v
        return self.module.lookup(name)

    def eval(self, node, env):
        m = getattr(self, "e_" + type(node).__name__, None)
        if m is None:
            raise Unknown(f"unsupported expression {type(node).__name__}")
        return m(node, env)

    def e_Constant(self, n, env):
        return n.value

    def e_Name(self, n, env):
        return self.lookup(n.id, env)

    def e_List(self, n, env):
        out = []
        for e in n.elts:
            if isinstance(e, ast.Starred):
                out.extend(self.eval(e.value, env))
            else:
                out.append(self.eval(e, env))
        return out

    def e_Tuple(self, n, env):
        return tuple(self.e_List(n, env))

    def e_Set(self, n, env):
        return set(self.e_List(n, env))

    def e_Dict(self, n, env):
        out = {}
        for k, v in zip(n.keys, n.values):
            if k is None:
                out.update(self.eval(v, env))
            else:
                out[self.eval(k, env)] = self.eval(v, env)
        return out

    def e_JoinedStr(self, n, env):
        parts = []
        for v in n.values:
            if isinstance(v, ast.Constant):
                parts.append(v.value)
            else:
                parts.append(self.e_FormattedValue(v, env))
        return "".join(parts)

    def e_FormattedValue(self, n, env):
        val = self.eval(n.value, env)
        if n.conversion == ord("r"):
            val = repr(val)
        elif n.conversion == ord("s"):
            val = str(val)
        elif n.conversion == ord("a"):
            val = ascii(val)
        spec = self.eval(n.format_spec, env) if n.format_spec else ""
        return format(val, spec)

    def e_BinOp(self, n, env):
        a, b = self.eval(n.left, env), self.eval(n.right, env)
        ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
               ast.Div: lambda: a / b, ast.Mod: lambda: a % b, ast.FloorDiv: lambda: a // b,
               ast.Pow: lambda: a ** b}
        f = ops.get(type(n.op))
        if f is None:
            raise Unknown("binop")
        if isinstance(n.op, ast.Mult) and isinstance(a, (str, list)) and isinstance(b, int) and b > 10 ** 6:
            raise Unknown("huge")
        return f()

    def e_UnaryOp(self, n, env):
        v = self.eval(n.operand, env)
        if isinstance(n.op, ast.USub):
            return -v
        if isinstance(n.op, ast.UAdd):
            return +v
        if isinstance(n.op, ast.Not):
            return not v
        raise Unknown("unaryop")

    def e_BoolOp(self, n, env):
        if isinstance(n.op, ast.And):
            v = True
            for e in n.values:
                v = self.eval(e, env)
                if not v:
                    return v
            return v
        v = False
        for e in n.values:
            v = self.eval(e, env)
            if v:
                return v
        return v

    def e_Compare(self, n, env):
        left = self.eval(n.left, env)
        for op, c in zip(n.ops, n.comparators):
            right = self.eval(c, env)
            ok = {ast.Eq: lambda: left == right, ast.NotEq: lambda: left != right,
                  ast.Lt: lambda: left < right, ast.LtE: lambda: left <= right,
                  ast.Gt: lambda: left > right, ast.GtE: lambda: left >= right,
                  ast.Is: lambda: left is right, ast.IsNot: lambda: left is not right,
                  ast.In: lambda: left in right, ast.NotIn: lambda: left not in right}[type(op)]()
            if not ok:
                return False
            left = right
        return True

    def e_IfExp(self, n, env):
        return self.eval(n.body, env) if self.eval(n.test, env) else self.eval(n.orelse, env)

    def e_Subscript(self, n, env):
        v = self.eval(n.value, env)
        sl = n.slice
        if isinstance(v, Sym) and not isinstance(sl, ast.Slice):
            return v.sub(f"{self.eval(sl, env)}")
        if isinstance(sl, ast.Slice):
            lo = self.eval(sl.lower, env) if sl.lower else None
            hi = self.eval(sl.upper, env) if sl.upper else None
            st = self.eval(sl.step, env) if sl.step else None
            return v[lo:hi:st]
        k = self.eval(sl, env)
        try:
            return v[k]
        except (KeyError, IndexError, TypeError) as e:
            raise Unknown(f"subscript failed: {e}")

    def e_Attribute(self, n, env):
        if isinstance(n.value, ast.Name) and n.value.id not in env:
            base_name = n.value.id
            try:
                base = self.module.lookup(base_name)
            except Unknown:
                raise
            if isinstance(base, ModRef):
                return FuncRef(f"{base.name}.{n.attr}")
        base = self.eval(n.value, env)
        if isinstance(base, Sym) and n.attr not in SAFE_METHODS[str]:
            return base.sub(n.attr)
        if isinstance(base, ClassRef):
            return base.getattr(n.attr)
        if isinstance(base, ApiEnumRef):
            return n.attr
        if isinstance(base, ModRef):
            return FuncRef(f"{base.name}.{n.attr}")
        if isinstance(base, FuncRef):
            return FuncRef(f"{base.name}.{n.attr}")
        for t, meths in SAFE_METHODS.items():
            if isinstance(base, t) and n.attr in meths:
                return getattr(base, n.attr)
        raise Unknown(f"attribute .{n.attr} of {type(base).__name__}")

    def e_Call(self, n, env):
        f = self.eval(n.func, env)
        args = []
        for a in n.args:
            if isinstance(a, ast.Starred):
                args.extend(self.eval(a.value, env))
            else:
                args.append(self.eval(a, env))
        kwargs = {}
        for k in n.keywords:
            if k.arg is None:
                kwargs.update(self.eval(k.value, env))
            else:
                kwargs[k.arg] = self.eval(k.value, env)
        if isinstance(f, FuncRef):
            if f.name == "load_sfn_template" or f.name.endswith(".load_sfn_template"):
                return load_template(args[0])
            short = f.name
            if short in KNOWN_CALLS:
                return KNOWN_CALLS[short](*args, **kwargs)
            if EXTENDED:
                return Sym((f.name, "()"))
            raise Unknown(f"call to {f.name}()")
        if isinstance(f, Sym):
            return f.sub("()")
        if callable(f) and (f in SAFE_BUILTINS.values() or getattr(f, "__self__", None) is not None):
            try:
                return f(*args, **kwargs)
            except Exception as e:  # noqa: BLE001
                raise Unknown(f"call failed: {e}")
        raise Unknown("call to unsupported callable")

    def _comp(self, n, env, make):
        results = []

        def rec(i, env2):
            if i == len(n.generators):
                results.append(make(env2))
                return
            g = n.generators[i]
            for item in self.eval(g.iter, env2):
                env3 = dict(env2)
                assign_target(self, g.target, item, env3)
                if all(self.eval(c, env3) for c in g.ifs):
                    rec(i + 1, env3)
        rec(0, dict(env))
        return results

    def e_ListComp(self, n, env):
        return self._comp(n, env, lambda e: self.eval(n.elt, e))

    def e_GeneratorExp(self, n, env):
        return self.e_ListComp(n, env)

    def e_SetComp(self, n, env):
        return set(self.e_ListComp(n, env))

    def e_DictComp(self, n, env):
        return dict(self._comp(n, env, lambda e: (self.eval(n.key, e), self.eval(n.value, e))))


def assign_target(ev, target, value, env):
    if isinstance(target, ast.Name):
        env[target.id] = value
    elif isinstance(target, (ast.Tuple, ast.List)):
        if value is UNKNOWN:
            for t in target.elts:
                assign_target(ev, t, UNKNOWN, env)
            return
        vals = list(value)
        if len(vals) != len(target.elts):
            raise Unknown("unpack mismatch")
        for t, v in zip(target.elts, vals):
            assign_target(ev, t, v, env)
    elif isinstance(target, ast.Subscript):
        cont = ev.eval(target.value, env)
        key = ev.eval(target.slice, env)
        if value is UNKNOWN:
            raise Unknown("unknown value stored into container")
        cont[key] = value
    else:
        raise Unknown(f"assignment target {type(target).__name__}")


def root_name(node):
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


# --------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------

class Module:
    _cache = {}

    @classmethod
    def get(cls, path):
        path = os.path.realpath(path)
        if path not in cls._cache:
            cls._cache[path] = Module(path)
        return cls._cache[path]

    def __init__(self, path):
        self.path = path
        self.src = open(path).read()
        self.tree = ast.parse(self.src)
        self.evaluator = Evaluator(self)
        self.defs = {}  # name -> ("assign", node) | ("class", node) | ("func", node) | ("import", ...)
        self.values = {"__file__": path}
        for st in self.tree.body:
            if isinstance(st, ast.Assign):
                for t in st.targets:
                    if isinstance(t, ast.Name):
                        self.defs[t.id] = ("assign", st.value)
            elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and st.value is not None:
                self.defs[st.target.id] = ("assign", st.value)
            elif isinstance(st, ast.ClassDef):
                self.defs[st.name] = ("class", st)
            elif isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.defs[st.name] = ("func", st)
            elif isinstance(st, ast.Import):
                for a in st.names:
                    self.defs[(a.asname or a.name).split(".")[0]] = ("mod", a.name if a.asname else a.name.split(".")[0])
            elif isinstance(st, ast.ImportFrom):
                for a in st.names:
                    self.defs[a.asname or a.name] = ("from", st.module, a.name)

    def lookup(self, name):
        if name in self.values:
            v = self.values[name]
            if v is UNKNOWN:
                raise Unknown(f"module name {name} unknown")
            return v
        d = self.defs.get(name)
        if d is None:
            if name in SAFE_BUILTINS:
                return SAFE_BUILTINS[name]
            raise Unknown(f"undefined name {name}")
        kind = d[0]
        try:
            if kind == "assign":
                self.values[name] = UNKNOWN  # recursion guard
                v = self.evaluator.eval(d[1], {})
            elif kind == "class":
                v = ClassRef(self, d[1])
            elif kind == "func":
                v = FuncRef(name)
            elif kind == "mod":
                v = ModRef(d[1])
            elif kind == "from":
                modname, orig = d[1], d[2]
                if modname and modname.startswith("tests."):
                    p = os.path.join(LSRC, *modname.split(".")[1:]) + ".py"
                    if os.path.exists(p):
                        v = Module.get(p).lookup(orig)
                    else:
                        v = FuncRef(orig)
                elif modname and modname.startswith("localstack.aws.api"):
                    v = ApiEnumRef(orig)
                elif modname == "os" and orig == "path":
                    v = ModRef("os.path")
                elif modname == "collections" and orig == "OrderedDict":
                    v = collections.OrderedDict
                else:
                    v = FuncRef(orig)
            else:
                raise Unknown(name)
        except Unknown:
            self.values[name] = UNKNOWN
            raise
        self.values[name] = v
        return v

    def find_function(self, cls_name, func_name):
        for st in self.tree.body:
            if cls_name and isinstance(st, ast.ClassDef) and st.name == cls_name:
                for f in st.body:
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name == func_name:
                        return st, f
            if not cls_name and isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)) and st.name == func_name:
                return None, st
        return None, None


# --------------------------------------------------------------------------------------
# pytest parametrize expansion and id generation
# --------------------------------------------------------------------------------------

def _is_parametrize(dec):
    return (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)
            and dec.func.attr == "parametrize")


def _auto_id(val, argname, idx):
    if isinstance(val, TemplatePath):
        return f"{argname}{idx}"
    if isinstance(val, str):
        return val.encode("unicode_escape").decode("ascii")
    if isinstance(val, bytes):
        return val.decode("ascii", "backslashreplace")
    if val is None or isinstance(val, (bool, int, float, complex)):
        return str(val)
    return f"{argname}{idx}"


def expand_parametrize(module, decorators):
    """Return list of (id, params) combos, or [('', {})] when not parametrized.
    params values may be UNKNOWN."""
    ev = module.evaluator
    per_dec = []
    for dec in decorators:
        if not _is_parametrize(dec):
            continue
        argnames_node = dec.args[0] if dec.args else next(k.value for k in dec.keywords if k.arg == "argnames")
        argvalues_node = dec.args[1] if len(dec.args) > 1 else next(k.value for k in dec.keywords if k.arg == "argvalues")
        argnames = ev.eval(argnames_node, {})
        if isinstance(argnames, str):
            argnames = [a.strip() for a in argnames.split(",") if a.strip()]
        argnames = list(argnames)
        ids_node = next((k.value for k in dec.keywords if k.arg == "ids"), None)
        ids = None
        if ids_node is not None:
            try:
                ids = ev.eval(ids_node, {})
            except Unknown:
                ids = None
        # argvalues
        entries = []  # (values tuple, explicit id)
        if isinstance(argvalues_node, (ast.List, ast.Tuple)):
            elts = argvalues_node.elts
        else:
            try:
                vals = ev.eval(argvalues_node, {})
                elts = [ast.Constant(value=v) for v in vals]  # already evaluated
                elts = [("__v__", v) for v in vals]
            except Unknown:
                elts = []
        for e in elts:
            explicit = None
            if isinstance(e, tuple) and e[0] == "__v__":
                v = e[1]
                vals = tuple(v) if len(argnames) > 1 else (v,)
                entries.append((vals, None))
                continue
            if (isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "param"):
                for k in e.keywords:
                    if k.arg == "id":
                        explicit = ev.eval(k.value, {})
                raw = e.args
            elif len(argnames) > 1 and isinstance(e, (ast.Tuple, ast.List)):
                raw = e.elts
            else:
                raw = [e]
            vals = []
            for r in raw:
                try:
                    v = ev.eval(r, {})
                    # keep template constants recognisable for auto-ids
                    if isinstance(v, str) and v.endswith(".json5"):
                        v = TemplatePath(v)
                except Unknown:
                    v = UNKNOWN
                vals.append(v)
            if len(argnames) > 1 and len(vals) == 1 and isinstance(vals[0], (tuple, list)):
                vals = list(vals[0])
            entries.append((tuple(vals), explicit))
        combos = []
        for i, (vals, explicit) in enumerate(entries):
            if explicit is not None:
                pid = explicit
            elif ids is not None and i < len(ids) and ids[i] is not None:
                pid = str(ids[i])
            else:
                parts = []
                for an, v in zip(argnames, vals):
                    parts.append(f"{an}{i}" if v is UNKNOWN else _auto_id(v, an, i))
                pid = "-".join(parts)
            combos.append((pid, dict(zip(argnames, vals))))
        per_dec.append(combos)
    # decorator closest to the function is applied first -> its id comes first
    per_dec.reverse()
    result = [("", {})]
    for combos in per_dec:
        new = []
        for pid0, p0 in result:
            for pid, p in combos:
                new.append((pid if not pid0 else f"{pid0}-{pid}", {**p0, **p}))
        result = new
    # disambiguate duplicates like pytest does
    counts = collections.Counter(pid for pid, _ in result)
    seen = collections.Counter()
    out = []
    for pid, p in result:
        if pid and counts[pid] > 1:
            suffix = "_" if pid[-1].isdigit() else ""
            npid = f"{pid}{suffix}{seen[pid]}"
            seen[pid] += 1
            pid = npid
        out.append((pid, p))
    return out


# --------------------------------------------------------------------------------------
# Interpreting a test function body
# --------------------------------------------------------------------------------------

RUNNERS = {
    # name: (definition arg index/keyword, input arg index/keyword)
    "create_and_record_execution": ((4, "definition"), (5, "execution_input")),
    "create_and_record_logs": ((5, "definition"), (6, "execution_input")),
    "create_and_record_events": ((5, "definition"), (6, "execution_input")),
}
UNSUPPORTED_RUNNERS = {
    "create_and_record_mocked_execution": "mocked service integration (local mock config)",
    "create_and_record_mocked_sync_execution": "mocked service integration (local mock config)",
    "create_and_run_mock": "mocked service integration (local mock config)",
    "create_and_record_express_sync_execution": "express workflow harness",
    "create_and_record_express_async_execution": "express workflow harness",
}


class Recorded:
    def __init__(self, kind, **kw):
        self.kind = kind
        self.__dict__.update(kw)


class BodyInterpreter:
    MAX_STEPS = 200000

    def __init__(self, module, env):
        self.module = module
        self.ev = module.evaluator
        self.env = env
        self.calls = []  # Recorded
        self.mutations = []  # human-readable notes about applied mutations
        self.unknown_mutations = []
        self.steps = 0
        self.pending_definition = UNKNOWN
        self.pending_definition_err = "no definition"
        self.objects = []  # (bucket, key, body bytes) uploaded by the test (extended mode)
        self.objects_err = None

    def set_unknown(self, name, why):
        self.env[name] = UNKNOWN
        self.env.setdefault("__why__", {})[name] = (why or "unknown")[:300]

    def _try(self, node):
        try:
            return self.ev.eval(node, self.env), None
        except Unknown as e:
            return UNKNOWN, str(e)
        except Exception as e:  # noqa: BLE001
            return UNKNOWN, f"{type(e).__name__}: {e}"

    def _arg(self, call, idx, kw):
        for k in call.keywords:
            if k.arg == kw:
                return k.value
        if idx < len(call.args):
            return call.args[idx]
        return None

    def _poison_assigned(self, stmts):
        for st in stmts:
            for n in ast.walk(st):
                if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    tg = n.targets if isinstance(n, ast.Assign) else [n.target]
                    for t in tg:
                        r = root_name(t)
                        if r:
                            self.set_unknown(r, "assigned in a branch/loop that could not be evaluated")
                elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
                    r = root_name(n.func.value)
                    if r and r in self.env and n.func.attr in ("append", "extend", "update", "pop", "insert"):
                        self.set_unknown(r, "mutated in a branch/loop that could not be evaluated")

    def run(self, stmts):
        for st in stmts:
            self.steps += 1
            if self.steps > self.MAX_STEPS:
                raise Unknown("too many steps")
            self.stmt(st)

    def record_call(self, call):
        fname = call.func.id if isinstance(call.func, ast.Name) else (
            call.func.attr if isinstance(call.func, ast.Attribute) else None)
        if fname is None:
            return False
        if EXTENDED and fname == "put_object":
            vals = {}
            for kw in ("Bucket", "Key", "Body"):
                node = self._arg(call, 99, kw)
                v, err = self._try(node) if node is not None else (UNKNOWN, f"no {kw}")
                vals[kw] = v
                if v is UNKNOWN:
                    self.objects_err = self.objects_err or f"put_object {kw}: {err}"
            if all(v is not UNKNOWN for v in vals.values()):
                body = vals["Body"]
                if isinstance(body, str):
                    body = body.encode()
                elif isinstance(body, bytearray):
                    body = bytes(body)
                if not isinstance(body, bytes):
                    self.objects_err = self.objects_err or f"put_object Body of type {type(body).__name__}"
                else:
                    self.objects.append((str(vals["Bucket"]), str(vals["Key"]), body))
            return True
        if fname in RUNNERS:
            (di, dk), (ii, ik) = RUNNERS[fname]
            dnode, inode = self._arg(call, di, dk), self._arg(call, ii, ik)
            d, derr = self._try(dnode) if dnode is not None else (UNKNOWN, "no definition arg")
            i, ierr = self._try(inode) if inode is not None else (UNKNOWN, "no input arg")
            self.calls.append(Recorded("execution", runner=fname, definition=d, definition_err=derr,
                                       input=i, input_err=ierr, lineno=call.lineno))
            return True
        if fname == "create_state_machine_with_iam_role":
            dnode = self._arg(call, 4, "definition")
            self.pending_definition, self.pending_definition_err = self._try(dnode)
            return True
        if fname in ("launch_and_record_execution", "launch_and_record_logs"):
            inode = (self._arg(call, 3, "execution_input") if fname == "launch_and_record_execution"
                     else self._arg(call, 2, "execution_input"))
            i, ierr = self._try(inode) if inode is not None else (UNKNOWN, "no input arg")
            self.calls.append(Recorded("execution", runner=fname, definition=self.pending_definition,
                                       definition_err=self.pending_definition_err, input=i, input_err=ierr,
                                       lineno=call.lineno))
            return True
        if fname == "create_and_test_on_inputs":
            tnode = self._arg(call, 4, "ift_template")
            vnode = self._arg(call, 5, "input_values")
            t, terr = self._try(tnode)
            d, derr = (UNKNOWN, terr)
            if t is not UNKNOWN:
                try:
                    d = json.dumps(load_template(t))
                    derr = None
                except Unknown as e:
                    derr = str(e)
            v, verr = self._try(vnode)
            try:
                key = self.module.lookup("IFT").getattr("FUNCTION_INPUT_KEY")
            except Unknown:
                key = "FunctionInput"
            inputs = UNKNOWN if v is UNKNOWN else [json.dumps({key: x}) for x in v]
            self.calls.append(Recorded("multi", runner=fname, definition=d, definition_err=derr,
                                       inputs=inputs, input_err=verr, lineno=call.lineno))
            return True
        if fname == "create_and_test_comparison_function":
            opnode = self._arg(call, 4, "comparison_func_name")
            cnode = self._arg(call, 5, "comparisons")
            lnode = self._arg(call, 6, "add_literal_value")
            op, operr = self._try(opnode)
            comps, cerr = self._try(cnode)
            lit = True
            if lnode is not None:
                lit, _ = self._try(lnode)
            self.calls.append(Recorded("comparison", runner=fname, op=op, op_err=operr, comparisons=comps,
                                       comparisons_err=cerr, add_literal_value=lit, lineno=call.lineno))
            return True
        if fname in UNSUPPORTED_RUNNERS:
            self.calls.append(Recorded("unsupported", runner=fname, reason=UNSUPPORTED_RUNNERS[fname],
                                       lineno=call.lineno))
            return True
        return False

    def stmt(self, st):
        env = self.env
        if isinstance(st, ast.Assign):
            # recorded runner calls can appear as `x = create_and_record_execution(...)`
            if isinstance(st.value, ast.Call) and self.record_call(st.value):
                for t in st.targets:
                    r = root_name(t)
                    if r:
                        self.set_unknown(r, "result of an execution helper")
                return
            v, err = self._try(st.value)
            for t in st.targets:
                if isinstance(t, ast.Name):
                    if v is UNKNOWN:
                        self.set_unknown(t.id, err)
                    else:
                        env[t.id] = v
                    continue
                try:
                    if v is UNKNOWN:
                        raise Unknown(err)
                    assign_target(self.ev, t, v, env)
                    if not isinstance(t, (ast.Tuple, ast.List)):
                        self.mutations.append(ast.unparse(st)[:200])
                except Unknown as e:
                    r = root_name(t)
                    if isinstance(t, (ast.Tuple, ast.List)):
                        self._poison_assigned([st])
                    elif r:
                        # does the container even exist as a known value?
                        cont, _ = self._try(t.value) if hasattr(t, "value") else (UNKNOWN, None)
                        if cont is not UNKNOWN or env.get(r, None) is not UNKNOWN:
                            self.unknown_mutations.append(f"{ast.unparse(st)[:160]}  [{e}]")
                        self.set_unknown(r, f"mutation with unknown value: {e}")
        elif isinstance(st, ast.AnnAssign):
            if st.value is not None:
                v, _ = self._try(st.value)
                if isinstance(st.target, ast.Name):
                    env[st.target.id] = v
        elif isinstance(st, ast.AugAssign):
            r = root_name(st.target)
            try:
                cur = self.ev.eval(st.target, env)
                inc = self.ev.eval(st.value, env)
                new = self.ev.e_BinOp(ast.BinOp(left=ast.Constant(cur), op=st.op, right=ast.Constant(inc)), env)
                assign_target(self.ev, st.target, new, env)
            except Unknown as e:
                if r:
                    self.set_unknown(r, str(e))
        elif isinstance(st, ast.Expr):
            if isinstance(st.value, ast.Call):
                if self.record_call(st.value):
                    return
                call = st.value
                if isinstance(call.func, ast.Attribute):
                    r = root_name(call.func.value)
                    meth = call.func.attr
                    if r and r in env and meth in ("append", "extend", "update", "pop", "insert", "setdefault"):
                        v, err = self._try(call)
                        if v is UNKNOWN and err:
                            if env.get(r) is not UNKNOWN:
                                self.unknown_mutations.append(f"{ast.unparse(st)[:160]}  [{err}]")
                            self.set_unknown(r, f"mutation with unknown value: {err}")
        elif isinstance(st, ast.For):
            it, _ = self._try(st.iter)
            if it is UNKNOWN:
                self._poison_assigned(st.body)
                return
            for item in list(it):
                try:
                    assign_target(self.ev, st.target, item, env)
                except Unknown:
                    self._poison_assigned(st.body)
                    return
                self.run(st.body)
            self.run(st.orelse)
        elif isinstance(st, ast.If):
            c, _ = self._try(st.test)
            if c is UNKNOWN:
                self._poison_assigned(st.body + st.orelse)
                # still record runner calls inside, with what we know
                return
            self.run(st.body if c else st.orelse)
        elif isinstance(st, (ast.With, ast.AsyncWith)):
            self.run(st.body)
        elif isinstance(st, ast.Try):
            self.run(st.body)
            self.run(st.orelse)
            self.run(st.finalbody)
        # everything else (return, assert, del, pass, nested defs) is ignored


# --------------------------------------------------------------------------------------
# Snapshot handling
# --------------------------------------------------------------------------------------

PLACEHOLDER_RE = re.compile(r"<[^<>\s]{1,80}>")
EXACT_PLACEHOLDERS = {"timestamp", "snf_role_arn", "date", "<date>"}


CASE_PLACEHOLDERS = set()  # replacement strings of transformers declared by the current test


def is_placeholder_str(s):
    return isinstance(s, str) and (s in EXACT_PLACEHOLDERS or s in CASE_PLACEHOLDERS
                                   or bool(PLACEHOLDER_RE.search(s))
                                   or (SUBSTRING_PLACEHOLDERS and any(
                                       len(p) >= 6 and p in s for p in CASE_PLACEHOLDERS)))


def is_exact_placeholder(s):
    return s in EXACT_PLACEHOLDERS or s in CASE_PLACEHOLDERS


def contains_placeholder(v):
    if isinstance(v, dict):
        return any(contains_placeholder(k) or contains_placeholder(x) for k, x in v.items())
    if isinstance(v, list):
        return any(contains_placeholder(x) for x in v)
    return is_placeholder_str(v)


SUBSTRING_PLACEHOLDERS = False  # extended cases: transformer replacements inside strings are wildcards


def _placeholder_spans(s):
    spans = [(m.start(), m.end()) for m in PLACEHOLDER_RE.finditer(s)]
    if SUBSTRING_PLACEHOLDERS:
        for p in CASE_PLACEHOLDERS:
            if len(p) >= 6:
                spans += [(m.start(), m.end()) for m in re.finditer(re.escape(p), s)]
    spans.sort()
    out, last = [], -1
    for a, b in spans:
        if a >= last:
            out.append((a, b))
            last = b
    return out


class _Span:
    def __init__(self, a, b):
        self._a, self._b = a, b

    def start(self):
        return self._a

    def end(self):
        return self._b


def placeholder_regex(s):
    if is_exact_placeholder(s):
        return re.compile(r"(?s).*")
    out = []
    pos = 0
    for m in (_Span(a, b) for a, b in _placeholder_spans(s)):
        out.append(re.escape(s[pos:m.start()]))
        out.append(r"(?s:.*?)")
        pos = m.end()
    out.append(re.escape(s[pos:]))
    pat = "".join(out)
    # account ids next to masked ARN parts are environment-specific too
    pat = re.sub(r"(?<=:)\d{12}(?=:)", r"\\d{12}", pat)
    return re.compile("(?s)^" + pat + "$")


def wildcard_equal(exp, got):
    """JSON deep-equal where placeholder strings in `exp` are wildcards."""
    if isinstance(exp, str):
        if is_placeholder_str(exp):
            if is_exact_placeholder(exp):
                return True  # masked value of any type
            return isinstance(got, str) and bool(placeholder_regex(exp).match(got))
        return isinstance(got, str) and exp == got
    if isinstance(exp, bool) or isinstance(got, bool):
        return isinstance(exp, bool) and isinstance(got, bool) and exp == got
    if isinstance(exp, (int, float)):
        return isinstance(got, (int, float)) and exp == got
    if exp is None:
        return got is None
    if isinstance(exp, list):
        return isinstance(got, list) and len(exp) == len(got) and all(
            wildcard_equal(a, b) for a, b in zip(exp, got))
    if isinstance(exp, dict):
        if not isinstance(got, dict) or len(exp) != len(got):
            return False
        for k, v in exp.items():
            if k in got:
                if not wildcard_equal(v, got[k]):
                    return False
            elif is_placeholder_str(k):
                cands = [gk for gk in got if gk not in exp and placeholder_regex(k).match(gk)]
                if not any(wildcard_equal(v, got[c]) for c in cands):
                    return False
            else:
                return False
        return True
    return exp == got


def first_diff(exp, got, path="$"):
    """Human-readable location of the first difference (for reports)."""
    if wildcard_equal(exp, got):
        return None
    if isinstance(exp, dict) and isinstance(got, dict):
        missing = [k for k in exp if k not in got and not is_placeholder_str(k)]
        extra = [k for k in got if k not in exp]
        if missing or extra:
            return f"{path}: missing keys {missing[:6]} extra keys {extra[:6]}"
        for k in exp:
            d = first_diff(exp[k], got.get(k), f"{path}.{k}")
            if d:
                return d
    if isinstance(exp, list) and isinstance(got, list):
        if len(exp) != len(got):
            return f"{path}: length {len(exp)} != {len(got)}"
        for i, (a, b) in enumerate(zip(exp, got)):
            d = first_diff(a, b, f"{path}[{i}]")
            if d:
                return d
    return f"{path}: expected {trim(exp, 150)} got {trim(got, 150)}"


def transformer_replacements(fn_node):
    """Replacement strings of snapshot transformers declared in a test function."""
    out = set()
    for n in ast.walk(fn_node):
        if not isinstance(n, ast.Call):
            continue
        name = n.func.attr if isinstance(n.func, ast.Attribute) else (n.func.id if isinstance(n.func, ast.Name) else "")
        if not (name.endswith("Transformer") or name in ("key_value", "jsonpath", "regex")):
            continue
        cands = [k.value for k in n.keywords if k.arg in ("replacement", "value_replacement")]
        if len(n.args) >= 2:
            cands.append(n.args[1])
        for c in cands:
            if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value:
                out.add(c.value)
    return out


def parse_snapshot_json(v):
    """LocalStack's snapshot parses only strings starting with '{' (objects);
    other JSON documents (arrays, scalars) stay as their raw JSON text."""
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


TERMINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


def outcome_from_events(events):
    start = next((e for e in events if e.get("type") == "ExecutionStarted"), None)
    term = next((e for e in reversed(events) if e.get("type") in TERMINAL), None)
    if start is None:
        return None, None, "no ExecutionStarted event"
    if term is None:
        return None, None, "no terminal event recorded"
    sd = start.get("executionStartedEventDetails", {})
    if "input" not in sd:
        return None, None, "ExecutionStarted without input"
    inp = parse_snapshot_json(sd["input"])
    status = TERMINAL[term["type"]]
    exp = {"status": status}
    if status == "SUCCEEDED":
        d = term.get("executionSucceededEventDetails", {})
        if d.get("outputDetails", {}).get("truncated"):
            return None, None, "recorded output truncated"
        exp["output"] = parse_snapshot_json(d.get("output"))
    elif status == "FAILED":
        d = term.get("executionFailedEventDetails", {})
        exp["error"] = d.get("error")
        exp["cause"] = d.get("cause")
    elif status == "TIMED_OUT":
        d = term.get("executionTimedOutEventDetails", {})
        exp["error"] = d.get("error")
        exp["cause"] = d.get("cause")
    return inp, exp, None


# --------------------------------------------------------------------------------------
# Definition checks
# --------------------------------------------------------------------------------------

ACTIVITY_RE = re.compile(r"^arn:[^:]+:states:[^:]*:[^:]*:activity:")


def definition_blockers(defn):
    """Reasons why the engine cannot run this definition without AWS resources."""
    reasons = []

    def walk(x):
        if isinstance(x, dict):
            if x.get("Type") == "Task":
                res = x.get("Resource")
                if not (isinstance(res, str) and ACTIVITY_RE.match(res)):
                    svc = res if isinstance(res, str) else repr(res)
                    m = re.match(r"arn:[^:]+:(?:states:::)?([a-z0-9-]+)", svc or "")
                    if isinstance(res, str) and res.startswith("arn:aws:states:::"):
                        tag = res[len("arn:aws:states:::"):].split(":")[0].split(".")[0]
                    elif isinstance(res, str) and ":lambda:" in res:
                        tag = "lambda"
                    else:
                        tag = m.group(1) if m else "other"
                    reasons.append(f"Task state with non-activity resource ({tag})")
            if "ItemReader" in x and isinstance(x.get("ItemReader"), dict):
                reasons.append("Map ItemReader (needs S3)")
            if "ResultWriter" in x and isinstance(x.get("ResultWriter"), dict):
                reasons.append("Map ResultWriter (needs S3)")
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(defn)
    return sorted(set(reasons))


def query_language(defn):
    found = False

    def walk(x):
        nonlocal found
        if isinstance(x, dict):
            if x.get("QueryLanguage") == "JSONata":
                found = True
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(defn)
    return "JSONata" if found else "JSONPath"


# --------------------------------------------------------------------------------------
# Mocks from recorded histories (extended mode)
# --------------------------------------------------------------------------------------

OUTCOME_EVENTS = {
    "TaskSucceeded": ("ok", "taskSucceededEventDetails"),
    "TaskFailed": ("fail", "taskFailedEventDetails"),
    "TaskTimedOut": ("fail", "taskTimedOutEventDetails"),
    "TaskStartFailed": ("fail", "taskStartFailedEventDetails"),
    "TaskSubmitFailed": ("fail", "taskSubmitFailedEventDetails"),
    "LambdaFunctionSucceeded": ("ok", "lambdaFunctionSucceededEventDetails"),
    "LambdaFunctionFailed": ("fail", "lambdaFunctionFailedEventDetails"),
    "LambdaFunctionTimedOut": ("fail", "lambdaFunctionTimedOutEventDetails"),
    "LambdaFunctionScheduleFailed": ("fail", "lambdaFunctionScheduleFailedEventDetails"),
    "LambdaFunctionStartFailed": ("fail", "lambdaFunctionStartFailedEventDetails"),
    "ActivitySucceeded": ("ok", "activitySucceededEventDetails"),
    "ActivityFailed": ("fail", "activityFailedEventDetails"),
    "ActivityTimedOut": ("fail", "activityTimedOutEventDetails"),
    "ActivityScheduleFailed": ("fail", "activityScheduleFailedEventDetails"),
}
SCHEDULE_EVENTS = {"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"}


DISTRIBUTED_TASKS = set()  # Task states of the last task_states() call inside a distributed Map


def task_states(defn):
    """{state name: concurrent} for every Task state; concurrent = it may run in parallel with
    other invocations of itself (inside a Map whose MaxConcurrency is not literally 1)."""
    out = {}
    DISTRIBUTED_TASKS.clear()

    def states_of(machine, concurrent):
        for name, st in (machine.get("States") or {}).items():
            if not isinstance(st, dict):
                continue
            t = st.get("Type")
            if t == "Task":
                out[name] = out.get(name, False) or concurrent
            elif t == "Map":
                mc = st.get("MaxConcurrency", 0)
                inner = concurrent or not (mc == 1 and "MaxConcurrencyPath" not in st)
                for k in ("ItemProcessor", "Iterator"):
                    if isinstance(st.get(k), dict):
                        mode = (st[k].get("ProcessorConfig") or {}).get("Mode")
                        before = set(out)
                        states_of(st[k], inner)
                        if mode == "DISTRIBUTED":
                            DISTRIBUTED_TASKS.update(set(out) - before)
            elif t == "Parallel":
                for b in st.get("Branches") or []:
                    if isinstance(b, dict):
                        states_of(b, concurrent)
    if isinstance(defn, dict):
        states_of(defn, False)
    return out


def _mock_step(kind, details):
    if kind == "ok":
        out = details.get("output")
        if isinstance(out, str):
            try:
                out = json.loads(out)
            except ValueError:
                pass  # raw/masked text: returned as a JSON string
        return {"Return": out}
    err, cause = details.get("error"), details.get("cause")
    if isinstance(cause, (dict, list)):
        cause = cause_text(cause)
    return {"Throw": {"Error": err if isinstance(err, str) else "", "Cause": cause if isinstance(cause, str) else ""}}


CAUSE_TEXTS = []  # JSON texts seen in the current history (to recover the exact text of parsed causes)


def _strings(v, out):
    if isinstance(v, str):
        if v[:1] in "{[":
            out.append(v)
    elif isinstance(v, dict):
        for x in v.values():
            _strings(x, out)
    elif isinstance(v, list):
        for x in v:
            _strings(x, out)


def cause_text(value):
    """LocalStack's snapshot parsed a JSON cause into an object: find the text it had (it often
    recurs as a string inside a state output), else serialise it like its producer would."""
    for s in CAUSE_TEXTS:
        try:
            if json.loads(s) == value:
                return s
        except ValueError:
            continue
    if isinstance(value, dict) and "errorMessage" in value:  # Lambda runtime errors are compact
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def build_mocks(events, defn):
    """(mock config, notes) or raises ValueError(skip reason)."""
    tasks = task_states(defn)
    CAUSE_TEXTS.clear()
    _strings(events, CAUSE_TEXTS)
    by_id = {e["id"]: e for e in events if isinstance(e.get("id"), int)}
    seq = collections.defaultdict(list)   # state -> [step]
    sorted_group = []                      # (kind, state-or-None, step) for events with masked ids
    open_sched = collections.Counter()
    last_entered = None
    notes = []
    for e in events:
        t = e.get("type")
        if t == "TaskStateEntered":
            last_entered = e.get("stateEnteredEventDetails", {}).get("name")
            if not isinstance(e.get("id"), int):
                sorted_group.append(("enter", last_entered, None))
            continue
        if t in SCHEDULE_EVENTS:
            open_sched[t] += 1
            continue
        if t not in OUTCOME_EVENTS:
            continue
        kind, dk = OUTCOME_EVENTS[t]
        step = _mock_step(kind, e.get(dk, {}))
        if not isinstance(e.get("id"), int):
            sorted_group.append(("outcome", None, step))
            continue
        # follow previousEventId back to the TaskStateEntered of this invocation
        name, cur, hops = None, e, 0
        while cur is not None and hops < 10000:
            if cur.get("type") == "TaskStateEntered":
                name = cur.get("stateEnteredEventDetails", {}).get("name")
                break
            cur = by_id.get(cur.get("previousEventId"))
            hops += 1
        if name is None:
            name = last_entered
            notes.append("task outcome mapped to the last entered Task state")
        seq[name].append(step)
    n_outcomes = sum(len(v) for v in seq.values()) + sum(1 for k, *_ in sorted_group if k == "outcome")
    if sum(open_sched.values()) > n_outcomes:
        raise ValueError("mocks: a task invocation has no recorded outcome (aborted)")
    if sorted_group:
        names = [n for k, n, _ in sorted_group if k == "enter"]
        steps = [s for k, _, s in sorted_group if k == "outcome"]
        distinct = {json.dumps(s, sort_keys=True) for s in steps}
        if len(set(names)) == 1 and len(distinct) <= 1:
            seq[names[0]].extend(steps)
        elif len(distinct) <= 1 and steps:
            for n in names:
                seq[n].append(steps[0])
        elif len(set(names)) == len(names) == len(steps) and len(set(names)) == 1:
            seq[names[0]].extend(steps)
        else:
            raise ValueError("mocks: Parallel/Map events reordered in the snapshot (masked ids), "
                             "outcomes cannot be assigned to states")
        notes.append("events with masked ids (reordered): outcomes assigned by identity")
    for name, steps in seq.items():
        if name not in tasks:
            raise ValueError(f"mocks: outcome for {name!r}, not a Task state of the definition")
        if tasks[name] and len({json.dumps(s, sort_keys=True) for s in steps}) > 1:
            raise ValueError("mocks: differing outcomes of a Task inside a concurrent Map")
    if DISTRIBUTED_TASKS:
        raise ValueError("mocks: Task inside a distributed Map (its iterations' events are in child "
                         "executions, not in the recorded history)")
    responses, case = {}, {}
    for i, (name, steps) in enumerate(sorted(seq.items())):
        rname = f"R{i}"
        case[name] = rname
        responses[rname] = {str(j): s for j, s in enumerate(steps)}
    return {"StateMachines": {"sm": {"TestCases": {"T": case}}}, "MockedResponses": responses}, notes


# --------------------------------------------------------------------------------------
# Case collection
# --------------------------------------------------------------------------------------

class Case:
    def __init__(self, cid, **kw):
        self.id = cid
        self.definition = None
        self.input = None
        self.expected = None
        self.skip = None
        self.skip_detail = None
        self.template = None
        self.placeholders = set()
        self.notes = []
        self.kind = "plain"  # plain | mocked | item-reader
        self.mocks = None     # mock configuration (AWS Step Functions Local format)
        self.objects = None   # [(bucket, key, body bytes)] for --objects
        self.__dict__.update(kw)


def execution_snapshots(rc):
    """Yield (key, events) for recorded executions in a recorded-content dict."""
    for k, v in rc.items():
        if isinstance(v, dict) and isinstance(v.get("events"), list):
            yield k, v["events"]


def collect_cases():
    cases = []
    for snap_path in sorted(glob.glob(os.path.join(V2_DIR, "**/*.snapshot.json"), recursive=True)):
        snap = json.load(open(snap_path))
        test_path = snap_path[: -len(".snapshot.json")] + ".py"
        module = Module.get(test_path)
        for key, val in snap.items():
            rc = val.get("recorded-content", {})
            execs = list(execution_snapshots(rc))
            has_cases = isinstance(rc.get("cases"), list)
            if not execs and not has_cases:
                continue  # API-level test (no execution recorded) -> not a replay candidate
            plain = cases_for_key(module, key, rc, execs)
            if any(c.skip and c.skip.startswith(EXTENDABLE) for c in plain):
                ext = extended_cases_for_key(module, key, rc, execs)
                ext_by_id = {c.id: c for c in ext}
                plain = [ext_by_id.get(c.id, c) if c.skip and c.skip.startswith(EXTENDABLE) else c
                         for c in plain]
            cases.extend(plain)
    return cases


EXTENDABLE = ("definition uses runtime values", "Task state with non-activity resource",
              "Map ItemReader")


def extended_cases_for_key(module, key, rc, execs):
    """The same test re-interpreted with fixture values as placeholders, service tasks mocked
    from the recorded history and ItemReader objects rebuilt from put_object calls."""
    global EXTENDED
    EXTENDED = True
    saved = {m: (dict(m.values), {}) for m in Module._cache.values()}
    try:
        return cases_for_key(module, key, rc, execs)
    finally:
        EXTENDED = False
        for m, (vals, _) in saved.items():  # forget names resolved with fixture placeholders
            m.values = vals


def parse_key(key):
    # tests/aws/.../test_x.py::Class::test_name[param]
    parts = key.split("::")
    file_part = parts[0]
    if len(parts) == 3:
        cls_name, rest = parts[1], parts[2]
    else:
        cls_name, rest = None, parts[1]
    m = re.match(r"^([^\[]+)(?:\[(.*)\])?$", rest)
    return file_part, cls_name, m.group(1), (m.group(2) if m.group(2) is not None else "")


def cases_for_key(module, key, rc, execs):
    file_part, cls_name, func_name, param_id = parse_key(key)
    expected_file = "tests/" + os.path.relpath(module.path, os.path.realpath(LSRC))
    if file_part != expected_file:
        return [Case(key, skip="stale snapshot entry (old test path)", skip_detail=file_part)]

    def skipped(reason, detail=None, cid=key):
        return [Case(cid, skip=reason, skip_detail=detail)]

    cls_node, fn = module.find_function(cls_name, func_name)
    if fn is None:
        return skipped("stale snapshot entry (test no longer in source)")
    global CASE_PLACEHOLDERS
    CASE_PLACEHOLDERS = transformer_replacements(fn)
    res = _cases_for_fn(module, key, rc, execs, cls_node, fn, param_id, skipped)
    for c in res:
        c.placeholders = set(CASE_PLACEHOLDERS)
    CASE_PLACEHOLDERS = set()
    return res


def _cases_for_fn(module, key, rc, execs, cls_node, fn, param_id, skipped):
    try:
        combos = expand_parametrize(module, list(fn.decorator_list))
        if cls_node is not None:
            cls_combos = expand_parametrize(module, list(cls_node.decorator_list))
            if cls_combos != [("", {})]:
                combos = [(f"{a}-{b}" if a and b else a or b, {**pa, **pb})
                          for a, pa in combos for b, pb in cls_combos]
    except Exception as e:  # noqa: BLE001
        return skipped("parametrize not understood", f"{type(e).__name__}: {e}")
    match = [p for pid, p in combos if pid == param_id]
    if not match:
        return skipped("stale snapshot entry (param id not produced by current parametrize)",
                       f"wanted [{param_id}], have {[c[0] for c in combos][:12]}")
    params = match[0]
    unknown_params = [k for k, v in params.items() if v is UNKNOWN]

    env = dict(params)
    if EXTENDED:  # pytest fixtures (aws_client, create_lambda_function, sqs_create_queue, ...)
        for a in fn.args.args + fn.args.kwonlyargs:
            if a.arg != "self" and a.arg not in env:
                env[a.arg] = Sym((a.arg,))
    interp = BodyInterpreter(module, env)
    try:
        interp.run(fn.body)
    except Unknown as e:
        return skipped("test body not understood", str(e))
    except RecursionError:
        return skipped("test body not understood", "recursion")

    calls = interp.calls
    if not calls:
        return skipped("no recognised execution helper in test body")
    unsupported = [c for c in calls if c.kind == "unsupported"]
    if unsupported:
        return skipped(unsupported[0].reason, unsupported[0].runner)

    out = []
    if has_kind(calls, "comparison"):
        return comparison_cases(key, rc, calls[0], interp)

    exec_calls = [c for c in calls if c.kind in ("execution", "multi")]
    if len(exec_calls) != 1:
        return skipped("multiple executions per test", f"{len(exec_calls)} helper calls")
    call = exec_calls[0]

    if call.kind == "multi":
        items = sorted(execs, key=lambda kv: int(re.sub(r"\D", "", kv[0]) or 0))
        for k, events in items:
            idx = int(re.sub(r"\D", "", k) or 0)
            src_input = None
            if call.inputs is not UNKNOWN and idx < len(call.inputs):
                src_input = call.inputs[idx]
            out.append(make_exec_case(f"{key}#{k}", events, call.definition, call.definition_err,
                                      src_input, call.input_err, interp, unknown_params))
        return out

    if len(execs) != 1:
        return skipped("multiple executions per test", f"{len(execs)} recorded histories")
    k, events = execs[0]
    src_input = call.input if call.input is not UNKNOWN else None
    out.append(make_exec_case(key, events, call.definition, call.definition_err, src_input,
                              call.input_err, interp, unknown_params))
    return out


def has_kind(calls, kind):
    return any(c.kind == kind for c in calls)


def _definition_from(defn, derr, interp, unknown_params):
    if defn is UNKNOWN or defn is None:
        if interp.unknown_mutations:
            return None, ("definition uses runtime values (AWS resources / random names)",
                          interp.unknown_mutations[0])
        if unknown_params:
            return None, ("definition depends on unresolvable parameter", ",".join(unknown_params))
        if derr and re.search(r"call to |<- .*(arn|name|uid|url)", derr):
            return None, ("definition uses runtime values (AWS resources / random names)", derr)
        return None, ("definition not resolvable", derr)
    if isinstance(defn, dict):
        return defn, None
    if isinstance(defn, str):
        try:
            return json.loads(defn), None
        except ValueError as e:
            return None, ("definition not valid JSON after mutations", str(e))
    return None, ("definition not resolvable", f"type {type(defn).__name__}")


def make_exec_case(cid, events, defn, derr, src_input, input_err, interp, unknown_params):
    c = Case(cid)
    d, why = _definition_from(defn, derr, interp, unknown_params)
    inp, exp, err = outcome_from_events(events)
    if err:
        c.skip, c.skip_detail = err, None
        return c
    if why:
        c.skip, c.skip_detail = why
        # still classify if we know something
        return c
    blockers = definition_blockers(d)
    if EXTENDED:
        rest = [b for b in blockers if not (b.startswith("Task state") or b.startswith("Map ItemReader"))]
        if rest:
            c.skip, c.skip_detail = rest[0], "; ".join(rest[1:]) or None
            return c
        if any(b.startswith("Map ItemReader") for b in blockers):
            if interp.objects_err and not interp.objects:
                c.skip, c.skip_detail = "ItemReader objects not reconstructable", interp.objects_err
                return c
            c.objects = list(interp.objects)
            c.kind = "item-reader"
            if not c.objects:
                c.notes.append("test uploads no objects")
            elif interp.objects_err:
                c.notes.append("some put_object calls not understood: " + interp.objects_err)
        if task_states(d):
            try:
                c.mocks, mnotes = build_mocks(events, d)
            except ValueError as e:
                c.skip, c.skip_detail = str(e).split(":")[0] + ": " + str(e).split(": ", 1)[-1], None
                return c
            c.notes.extend(mnotes)
            if c.kind == "plain":
                c.kind = "mocked"
        if c.kind == "plain":
            c.kind = "mocked"  # runtime values only (no task / reader): still an extended-mode case
        blockers = []
        if src_input is not None:
            try:
                inp = json.loads(src_input) if isinstance(src_input, str) else src_input
                c.notes.append("input from test source (extended mode)")
            except ValueError:
                pass
        elif contains_placeholder(inp):
            c.notes.append("snapshot input with placeholders used as is")
        if interp.mutations:
            c.notes.append("mutations applied: " + " | ".join(interp.mutations)[:300])
        c.definition, c.input, c.expected = d, inp, exp
        return c
    if blockers:
        c.skip, c.skip_detail = blockers[0], "; ".join(blockers[1:]) or None
        c.definition = d
        return c
    if src_input is not None:
        try:
            si = json.loads(src_input) if isinstance(src_input, str) else src_input
            if not wildcard_equal(inp, si):
                c.notes.append("WARNING: snapshot input differs from test-source input")
        except ValueError:
            pass
    if contains_placeholder(inp):
        if src_input is None:
            c.skip, c.skip_detail = "unrecoverable input", f"snapshot input has placeholders; source: {input_err}"
            c.definition = d
            return c
        try:
            inp = json.loads(src_input) if isinstance(src_input, str) else src_input
            c.notes.append("input recovered from test source")
        except ValueError as e:
            c.skip, c.skip_detail = "unrecoverable input", str(e)
            return c
    if interp.mutations:
        c.notes.append("mutations applied: " + " | ".join(interp.mutations)[:300])
    c.definition, c.input, c.expected = d, inp, exp
    return c


def comparison_cases(key, rc, call, interp):
    if call.op is UNKNOWN:
        return [Case(key, skip="definition not resolvable", skip_detail=call.op_err)]
    try:
        cot = Module.get(os.path.join(SFN_DIR, "templates/choiceoperators/choice_operators_templates.py")
                         ).lookup("ChoiceOperatorTemplate")
        base = json.dumps(load_template(cot.getattr("BASE_TEMPLATE")))
        op_ph = cot.getattr("COMPARISON_OPERATOR_PLACEHOLDER")
        val_ph = cot.getattr("VALUE_PLACEHOLDER")
    except Unknown as e:
        return [Case(key, skip="definition not resolvable", skip_detail=str(e))]
    base = base.replace(op_ph, call.op)
    out = []
    src = call.comparisons if call.comparisons is not UNKNOWN else None
    for i, case in enumerate(rc["cases"]):
        cid = f"{key}#case{i}"
        c = Case(cid)
        inp = parse_snapshot_json(case["input"])
        if src is not None and i < len(src):
            var, value = src[i]
            src_inp = {"Variable": var, "Value": value}
            if json.dumps(src_inp) != json.dumps(inp):
                c.notes.append("snapshot input masked/differs; using source")
            inp = src_inp
        value = inp.get("Value") if isinstance(inp, dict) else None
        defs = base.replace(val_ph, json.dumps(value)) if call.add_literal_value else base
        try:
            d = json.loads(defs)
        except ValueError as e:
            c.skip, c.skip_detail = "definition not valid JSON after mutations", str(e)
            out.append(c)
            continue
        expected_out = case.get("output")
        c.definition, c.input = d, inp
        c.expected = {"status": "SUCCEEDED", "output": parse_snapshot_json(expected_out)}
        c.notes.append(f"comparison {call.op} literal={call.add_literal_value}")
        out.append(c)
    return out


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------

def run_case(binary, case, workdir, timeout=20):
    fd, dpath = tempfile.mkstemp(suffix=".def.json", dir=workdir)
    with os.fdopen(fd, "w") as f:
        json.dump(case.definition, f)
    fd, ipath = tempfile.mkstemp(suffix=".in.json", dir=workdir)
    with os.fdopen(fd, "w") as f:
        json.dump(case.input, f)
    cmd = [binary, "run", "--definition", dpath, "--input", ipath, "--virtual-time"]
    extra = []
    if case.mocks is not None:
        fd, mpath = tempfile.mkstemp(suffix=".mocks.json", dir=workdir)
        with os.fdopen(fd, "w") as f:
            json.dump(case.mocks, f)
        extra.append(mpath)
        cmd += ["--mocks", mpath, "--test-case", "T", "--state-machine", "sm"]
    if case.objects is not None:
        odir = tempfile.mkdtemp(suffix=".objects", dir=workdir)
        for bucket, key, body in case.objects:
            path = os.path.join(odir, bucket, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(body)
        extra.append(odir)
        cmd += ["--objects", odir]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
        try:
            got = json.loads(lines[-1]) if lines else None
        except ValueError:
            got = None
        if not isinstance(got, dict):
            got = {"status": "HARNESS_ERROR", "output": None, "error": f"exit {p.returncode}",
                   "cause": (p.stdout + p.stderr)[-400:]}
    except subprocess.TimeoutExpired:
        got = {"status": "HARNESS_TIMEOUT", "output": None, "error": None, "cause": f">{timeout}s"}
    finally:
        os.unlink(dpath)
        os.unlink(ipath)
        for x in extra:
            subprocess.run(["rm", "-rf", x])
    got["_secs"] = round(time.time() - t0, 3)
    return got


def compare(exp, got):
    diffs = []
    if got.get("status") != exp["status"]:
        diffs.append("status")
        return diffs
    if exp["status"] == "SUCCEEDED":
        if not wildcard_equal(exp.get("output"), got.get("output")):
            diffs.append("output")
    elif exp["status"] in ("FAILED", "TIMED_OUT"):
        for f in ("error", "cause"):
            e, g = exp.get(f), got.get(f)
            if e is None:
                ok = g in (None, "")
            elif isinstance(e, (dict, list)):  # snapshot parsed a JSON cause
                try:
                    ok = wildcard_equal(e, json.loads(g)) if isinstance(g, str) else False
                except ValueError:
                    ok = False
            elif is_placeholder_str(e):
                ok = isinstance(g, str) and bool(placeholder_regex(e).match(g))
            else:
                ok = e == g
            if not ok:
                diffs.append(f)
    return diffs


def _norm(s, n=90):
    if s is None:
        return None
    s = str(s)
    s = re.sub(r"executing the state '[^']*' \(entered at the event id #\d+\)", "executing the state S", s)
    s = re.sub(r"States\.[A-Za-z0-9_]+: ", "States.S: ", s)
    s = re.sub(r"'[^']*'|\"[^\"]*\"", "…", s)
    s = re.sub(r"-?\d+(\.\d+)?", "N", s)
    return s[:n]


def mismatch_signature(row):
    e, g = row["expected"], row["got"]
    sig = [row.get("kind", "plain"), row["language"], f"{e['status']}->{g.get('status')}"]
    if e["status"] == g.get("status") == "SUCCEEDED":
        fd = row.get("first_output_diff") or ""
        sig.append("output: " + re.sub(r"expected .*", "value differs", re.sub(r"\[\d+\]", "[i]", fd))[:120])
    else:
        if e.get("error") != g.get("error"):
            sig.append(f"error {e.get('error')!r}->{g.get('error')!r}")
        else:
            sig.append(f"error {e.get('error')!r}")
        if g.get("status") == "INVALID":
            sig.append(f"cause -> {_norm(g.get('cause'), 70)!r}")
        else:
            sig.append(f"cause {_norm(e.get('cause'), 70)!r} -> {_norm(g.get('cause'), 70)!r}")
    return " | ".join(sig)


def trim(v, n=400):
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + f"…(+{len(s) - n})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--localstack", required=not MIRROR, help="LocalStack checkout (clone or git dir)")
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "debug", "statemachine"),
                    help="statemachine binary (default: target/debug/statemachine)")
    ap.add_argument("--filter", default=None, help="only case ids containing this substring")
    ap.add_argument("--jobs", type=int, default=max(2, os.cpu_count() or 2))
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--report", default=os.path.join(HERE, "report.json"))
    ap.add_argument("--list", action="store_true", help="only map cases, do not run")
    ap.add_argument("--quiet", action="store_true", help="no per-mismatch blocks")
    args = ap.parse_args()

    commit = ensure_sources()
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no binary at {binary}: run `cargo build -p statemachine` or pass --bin")

    cases = collect_cases()
    if args.filter:
        cases = [c for c in cases if args.filter in c.id]
    kept = [c for c in cases if c.skip is None]
    skipped = [c for c in cases if c.skip is not None]

    if args.list:
        for c in cases:
            print(("KEEP " if c.skip is None else "SKIP ") + c.id + ("" if c.skip is None else f"  -- {c.skip}: {c.skip_detail}"))
        return

    workdir = tempfile.mkdtemp(prefix="run-", dir=HERE)
    results = {}
    try:
        with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futs = {pool.submit(run_case, binary, c, workdir, args.timeout): c for c in kept}
            for f in cf.as_completed(futs):
                results[futs[f].id] = f.result()
    finally:
        subprocess.run(["rm", "-rf", workdir])

    per_lang = collections.defaultdict(lambda: {"kept": 0, "matched": 0})
    per_kind = collections.defaultdict(lambda: collections.defaultdict(lambda: {"kept": 0, "matched": 0}))
    mismatches = []
    case_rows = []
    global CASE_PLACEHOLDERS
    for c in kept:
        got = results[c.id]
        lang = query_language(c.definition)
        CASE_PLACEHOLDERS = c.placeholders
        global SUBSTRING_PLACEHOLDERS
        SUBSTRING_PLACEHOLDERS = c.kind != "plain"
        diffs = compare(c.expected, got)
        where = None
        if "output" in diffs:
            where = first_diff(c.expected.get("output"), got.get("output"))
        SUBSTRING_PLACEHOLDERS = False
        per_lang[lang]["kept"] += 1
        per_kind[c.kind][lang]["kept"] += 1
        if not diffs:
            per_lang[lang]["matched"] += 1
            per_kind[c.kind][lang]["matched"] += 1
        row = {"id": c.id, "kind": c.kind, "language": lang, "matched": not diffs, "diffs": diffs,
               "expected": c.expected, "got": {k: v for k, v in got.items() if not k.startswith("_")},
               "seconds": got.get("_secs"), "notes": c.notes, "input": c.input, "first_output_diff": where,
               "placeholders": sorted(c.placeholders), "mocks": c.mocks,
               "objects": [[b, k, len(v)] for b, k, v in c.objects] if c.objects is not None else None}
        case_rows.append(row)
        if diffs:
            mismatches.append(row)

    skip_counts = collections.Counter(c.skip for c in skipped)
    total_kept = sum(v["kept"] for v in per_lang.values())
    total_matched = sum(v["matched"] for v in per_lang.values())

    print(f"LocalStack commit {commit[:12]}  binary {binary}")
    print(f"cases considered: {len(cases)}   kept: {total_kept}   matched: {total_matched}   "
          f"mismatched: {total_kept - total_matched}   skipped: {len(skipped)}")
    for lang in sorted(per_lang):
        v = per_lang[lang]
        print(f"  {lang:9s} kept {v['kept']:4d}  matched {v['matched']:4d}  ({100.0 * v['matched'] / max(1, v['kept']):.1f}%)")
    for kind in ("plain", "mocked", "item-reader"):
        if kind not in per_kind:
            continue
        tk = sum(v["kept"] for v in per_kind[kind].values())
        tm = sum(v["matched"] for v in per_kind[kind].values())
        print(f"  [{kind}] kept {tk} matched {tm}   " + "  ".join(
            f"{lang}: {v['matched']}/{v['kept']}" for lang, v in sorted(per_kind[kind].items())))
    print("skipped by reason:")
    for r, n in skip_counts.most_common():
        print(f"  {n:4d}  {r}")
    if not args.quiet:
        print("\nMISMATCHES")
        for m in sorted(mismatches, key=lambda r: r["id"]):
            e, g = m["expected"], m["got"]
            print(f"--- {m['id']}  [{m['kind']} {m['language']}]  differs in: {','.join(m['diffs'])}")
            print(f"    expected: status={e['status']}" + (
                f" output={trim(e.get('output'))}" if e["status"] == "SUCCEEDED" else
                f" error={trim(e.get('error'))} cause={trim(e.get('cause'))}"))
            print(f"    got:      status={g.get('status')}" + (
                f" output={trim(g.get('output'))}" if g.get("status") == "SUCCEEDED" else
                f" error={trim(g.get('error'))} cause={trim(g.get('cause'))}"))
            if m.get("first_output_diff"):
                print(f"    first output diff: {m['first_output_diff']}")

    groups = collections.defaultdict(list)
    for m in mismatches:
        groups[mismatch_signature(m)].append(m["id"])
    group_list = sorted(({"count": len(v), "signature": k, "cases": sorted(v)} for k, v in groups.items()),
                        key=lambda g: -g["count"])
    if not args.quiet:
        print("\nMISMATCH GROUPS (heuristic)")
        for g in group_list:
            print(f"  {g['count']:4d}  {g['signature']}")
            print(f"        e.g. {g['cases'][0].split('::', 1)[-1]}")

    report = {
        "localstack_commit": commit,
        "binary": binary,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "totals": {"considered": len(cases), "kept": total_kept, "matched": total_matched,
                   "skipped": len(skipped), "per_language": per_lang,
                   "per_kind": {k: dict(v) for k, v in per_kind.items()}},
        "skipped_by_reason": dict(skip_counts.most_common()),
        "skipped": [{"id": c.id, "reason": c.skip, "detail": c.skip_detail} for c in skipped],
        "mismatch_groups": group_list,
        "mismatches": mismatches,
        "cases": case_rows,
    }
    with open(args.report, "w") as f:
        json.dump(report, f, indent=1, default=str)
    print(f"\nreport: {args.report}")


if __name__ == "__main__":
    main()
