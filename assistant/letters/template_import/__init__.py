"""Import an office's existing Word letter as a Lotse template (issue 15, item 3).

Three steps, each usable alone (CLI ``lotse letter import-template``, admin API, tests):

1. :func:`analyze` reads the ``.docx`` and lists its placeholders: ``{{ name }}`` (docxtpl),
   ``${name}`` (PHPWord), Word MERGEFIELD fields (``w:fldSimple`` and complex ``w:fldChar``
   fields), ``[Name]`` / ``«Name»`` in brackets and highlighted text. Body, tables, headers and
   footers are read; a placeholder split over several runs (Word does that after edits, spell
   checks, revisions) is found as one. Broken ones (``{{ name`` unclosed, ``${}``, a stray
   ``}}``, a MERGEFIELD inside an IF field) are reported, never dropped.
2. The administrator maps each placeholder (:class:`Mapping`): a case field (``akte.aktenzeichen``,
   ``empfaenger.name``, ... as the shipped templates use them), a user input, a generated block
   (text proposal from the knowledge base), a computed date (``today``, ``workdays:14``, ...), or
   ``keep`` (it is not a placeholder: the text stays).
3. :func:`convert` writes the docxtpl template and the YAML sidecar; :func:`install` checks both
   with the same loader the letters use and puts them into the templates folder.

Modules: :mod:`.docx_parts` (reading and rewriting the Word XML), :mod:`.analysis` (step 1),
:mod:`.mapping` (step 2), :mod:`.writing` (step 3 and installing).

Invariant: **the layout does not change**. Only the XML parts that hold a placeholder
(``word/document.xml``, ``word/header*.xml``, ``word/footer*.xml``) are rewritten, and in them
only the runs of a placeholder: its runs are merged into the first one, which keeps its run
properties (font, size, bold ...). Paragraph properties, tables, sections, styles, numbering,
images, relationships and every other member of the package stay byte for byte. The one
formatting change is deliberate: a highlight that marked a placeholder is removed from the run
that now holds only the placeholder (the letter must not come out yellow).

Text of the document is never logged (it may be a filled letter with social data).
"""

from .analysis import Analysis, Placeholder, analyze, mapping_template
from .docx_parts import MAX_BYTES
from .mapping import CASE_FIELDS, ImportOptions, Mapping, normalise_key, options_from_yaml, parse_mapping, suggest, suggest_name
from .writing import ImportResult, convert, import_template, install, render_docx, sample_values

__all__ = ["Analysis", "CASE_FIELDS", "MAX_BYTES", "ImportOptions", "ImportResult", "Mapping", "Placeholder",
           "analyze", "convert", "import_template", "install", "mapping_template", "normalise_key", "options_from_yaml",
           "parse_mapping", "render_docx", "sample_values", "suggest", "suggest_name"]
