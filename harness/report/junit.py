"""junit.xml: one test case per criterion (suite `qgate.gate`) plus each suite's own tests."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from harness.report.text import shorten, tidy
from harness.runrecord import RunRecord

# Characters XML 1.0 cannot carry at all (NUL, most C0 controls, lone surrogates, U+FFFE/F):
# like pytest's junitxml `bin_xml_escape`, each is written as a visible #xNN instead.
_ILLEGAL_XML = re.compile("[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD"
                          "\U00010000-\U0010FFFF]")


def xml_safe(text: object) -> str:
    """`text` with every character XML cannot represent replaced by `#xNN`."""
    return _ILLEGAL_XML.sub(lambda m: f"#x{ord(m.group()):02X}", str(text))


def render_junit(record: RunRecord) -> str:
    """The JUnit XML document for `record`."""
    root = ET.Element("testsuites", name=f"qgate {record.run_id}")
    gate = ET.SubElement(root, "testsuite", name="qgate.gate")
    for c in record.verdict.criteria:
        case = ET.SubElement(gate, "testcase", classname=f"gate.{c.suite}", name=c.name, time="0")
        detail = f"observed {c.observed}, threshold {c.threshold}: {tidy(c.reason)}"
        if c.baseline is not None:
            detail += f" (baseline {c.baseline})"
        if c.outcome == "fail":
            ET.SubElement(case, "failure", message=shorten(c.reason, 300),
                          type="criterion").text = detail
        elif c.outcome == "error":
            ET.SubElement(case, "error", message=shorten(c.reason, 300),
                          type="no-evidence").text = detail
        elif c.outcome == "waived":
            ET.SubElement(case, "skipped", message=f"waived by {c.waiver}: {c.reason}")
        elif c.outcome == "n/a":
            ET.SubElement(case, "skipped", message=f"not applicable: {c.reason}")
        elif c.outcome == "warn":
            ET.SubElement(case, "system-out").text = f"WARNING: {detail}"
    _count(gate)
    for name, suite in record.suites.items():
        element = ET.SubElement(root, "testsuite", name=name, time=f"{suite.duration_s:.3f}")
        if suite.error:
            ET.SubElement(element, "system-err").text = suite.error
        kept: dict[str, list[str]] = {}
        for artifact in suite.artifacts:
            if artifact.test_id:
                kept.setdefault(artifact.test_id, []).append(artifact.path)
        for test in suite.tests:
            case = ET.SubElement(element, "testcase", classname=_classname(name, test.id),
                                 name=test.name, time=f"{test.duration_s:.3f}")
            message = tidy(test.message)
            if test.outcome == "failed":
                ET.SubElement(case, "failure", message=shorten(message.splitlines()[0], 300)
                              if message else "failed").text = message
            elif test.outcome == "error":
                ET.SubElement(case, "error", message=shorten(message, 300) or "error").text = \
                    message
            elif test.outcome in ("skipped", "not_applicable"):
                ET.SubElement(case, "skipped", message=test.message or test.outcome)
            out = []
            if test.outcome == "flaky":
                out.append(f"FLAKY: passed on attempt {test.attempts}. {message}")
            # the JUnit attachments convention (Jenkins, GitLab, …): CI test tabs link traces;
            # paths are relative to the run folder, where junit.xml is
            out += [f"[[ATTACHMENT|{path}]]" for path in kept.get(test.id, [])]
            if out:
                ET.SubElement(case, "system-out").text = "\n".join(out)
        _count(element)
    _count_root(root)
    for element in root.iter():
        if element.text:
            element.text = xml_safe(element.text)
        for key, value in element.attrib.items():
            element.set(key, xml_safe(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _classname(suite: str, test_id: str) -> str:
    module = test_id.split("::")[0].removesuffix(".py").replace("/", ".")
    return f"{suite}.{module.split('.')[-1]}" if module else suite


def _count(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attr, str(sum(1 for c in cases if c.find(tag) is not None)))


def _count_root(root: ET.Element) -> None:
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in root.findall("testsuite"))))
