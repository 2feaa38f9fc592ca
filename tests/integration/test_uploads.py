"""Uploads: recognized by their content, never their name; stored under generated names."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.services import uploads
from app.services.errors import Invalid, NotFound


def image_bytes(fmt: str = "PNG") -> bytes:
    """A real 8x8 image in `fmt` (PNG, JPEG, WEBP)."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (91, 140, 255)).save(out, fmt)
    return out.getvalue()


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("invoice.pdf", pdf_bytes())
    return out.getvalue()


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def upload(data: bytes, name: str, content_type: str = "application/octet-stream"):
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type=content_type)


def stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def upload_dir(app, tmp_path):
    """A private UPLOAD_DIR for the test (the session's is shared with other tests)."""
    before = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = before


# --- recognizing ---------------------------------------------------------------------


@pytest.mark.parametrize("data, kind", [
    (image_bytes("PNG"), uploads.PNG),
    (image_bytes("JPEG"), uploads.JPEG),
    (image_bytes("WEBP"), uploads.WEBP),
    (pdf_bytes(), uploads.PDF),
], ids=["png", "jpeg", "webp", "pdf"])
def test_files_are_recognized_by_their_first_bytes(data, kind):
    assert uploads.detect(data[:16]) is kind


@pytest.mark.parametrize("data, name, content_type, expected", [
    (image_bytes("PNG"), "receipt.pdf", "application/pdf", uploads.PNG),
    (pdf_bytes(), "scan", "", uploads.PDF),
    (image_bytes("JPEG"), "photo.PNG", "image/png", uploads.JPEG),
], ids=["png-named-pdf", "pdf-without-extension", "jpeg-named-png"])
def test_the_name_and_the_claimed_type_do_not_matter(app, data, name, content_type, expected):
    checked = uploads.read(upload(data, name, content_type), uploads.PROOF_KINDS)
    assert checked.kind is expected
    assert checked.data == data


def test_a_png_that_is_really_html_is_refused_and_says_what_it_is(app):
    with pytest.raises(Invalid) as caught:
        uploads.read(upload(HTML, "receipt.png", "image/png"), uploads.PROOF_KINDS, field="proof")
    assert caught.value.fields["proof"] == (
        "“receipt.png” is named like a PNG but its content is an HTML page. "
        "Only JPG, PNG or PDF files are accepted; nothing was uploaded.")


def test_a_pdf_that_is_really_a_zip_is_refused(app):
    with pytest.raises(Invalid) as caught:
        uploads.read(upload(zip_bytes(), "invoice.pdf", "application/pdf"), uploads.PROOF_KINDS)
    assert "named like a PDF but its content is a ZIP archive" in caught.value.message


def test_html_with_leading_whitespace_and_a_byte_order_mark_is_still_html(app):
    with pytest.raises(Invalid) as caught:
        uploads.read(upload(b"\xef\xbb\xbf \n<html><body>x", "a.jpg"), uploads.PROOF_KINDS)
    assert "an HTML page" in caught.value.message


def test_a_kind_not_allowed_here_is_refused_even_when_recognized(app):
    with pytest.raises(Invalid) as caught:
        uploads.read(upload(image_bytes("WEBP"), "shot.webp"), uploads.PROOF_KINDS)
    assert caught.value.message == ("“shot.webp” is a WebP file. Only JPG, PNG or PDF files "
                                    "are accepted; nothing was uploaded.")
    assert uploads.read(upload(image_bytes("WEBP"), "shot.webp"),
                        uploads.EVIDENCE_KINDS).kind is uploads.WEBP


def test_an_empty_file_is_refused(app):
    with pytest.raises(Invalid) as caught:
        uploads.read(upload(b"", "receipt.png"), uploads.PROOF_KINDS, field="proof")
    assert caught.value.fields == {
        "proof": "“receipt.png” is empty. Choose the file again; nothing was uploaded."}


def test_no_file_at_all_is_refused(app):
    with pytest.raises(Invalid) as caught:
        uploads.read(upload(b"", ""), uploads.PROOF_KINDS, field="proof")
    assert caught.value.fields == {"proof": "Choose a file to upload."}


def test_a_file_over_5_mb_is_refused_with_413_and_its_size(app):
    data = image_bytes("PNG").ljust(int(5.5 * 1024 * 1024), b"\0")  # a valid start, 5.5 MB
    with pytest.raises(uploads.TooLarge) as caught:
        uploads.read(upload(data, "huge.png"), uploads.PROOF_KINDS)
    assert caught.value.status == 413
    assert caught.value.message.startswith("“huge.png” is 5.5 MB; files may be at most 5 MB.")


def test_a_file_of_exactly_5_mb_is_accepted(app):
    data = pdf_bytes().ljust(uploads.MAX_BYTES, b" ")
    assert uploads.read(upload(data, "big.pdf"), uploads.PROOF_KINDS).kind is uploads.PDF


# --- storing -------------------------------------------------------------------------


def test_a_stored_file_gets_a_random_name_and_the_exact_bytes(app, upload_dir):
    data = image_bytes("PNG")
    checked = uploads.read(upload(data, "../../static/evil.html"), uploads.PROOF_KINDS)
    relative = uploads.store(checked, "proofs")
    path = uploads.path_of(relative)
    assert path.parent == (upload_dir / "proofs").resolve()
    assert path.suffix == ".png" and "evil" not in path.name and len(path.stem) == 32
    assert path.read_bytes() == data
    assert checked.original_name == "evil.html"  # kept for display only


def test_storing_leaves_no_temporary_files_and_two_uploads_never_share_a_name(app, upload_dir):
    checked = uploads.read(upload(pdf_bytes(), "a.pdf"), uploads.PROOF_KINDS)
    first, second = uploads.store(checked, "proofs"), uploads.store(checked, "proofs")
    assert first != second
    assert sorted(p.name for p in (upload_dir / "proofs").iterdir()) == sorted(
        [first.split("/")[1], second.split("/")[1]])


def test_paths_outside_the_upload_directory_are_not_served(app, upload_dir, tmp_path):
    (tmp_path / "secret.txt").write_text("no")
    for relative in ("../secret.txt", "/etc/passwd", "proofs/missing.png"):
        with pytest.raises(NotFound):
            uploads.path_of(relative)


def test_deleting_a_stored_file_removes_it(app, upload_dir):
    relative = uploads.store(uploads.read(upload(pdf_bytes(), "a.pdf"), uploads.PROOF_KINDS),
                             "proofs")
    uploads.delete(relative)
    uploads.delete(relative)  # already gone: nothing to do
    assert list((upload_dir / "proofs").iterdir()) == []


@pytest.mark.parametrize("name, shown", [
    ("C:\\Users\\me\\Desktop\\receipt.png", "receipt.png"),
    ("bank\u202eslip.png", "bankslip.png"),
    ("  ", "file"),
])
def test_the_client_name_is_cleaned_for_display(name, shown):
    assert uploads.clean_name(name) == shown


def test_a_stored_file_is_removed_when_its_transaction_rolls_back(app):
    from app.extensions import db
    from app.services import uploads as uploads_service

    upload = uploads_service.read(FileStorage(io.BytesIO(image_bytes("PNG")), filename="a.png"),
                                  uploads_service.PROOF_KINDS, field="proof")
    from app.models import User

    db.session.scalar(select(User.id))  # a transaction is under way, as in the services
    kept = uploads_service.store(upload, "proofs")
    db.session.commit()
    db.session.scalar(select(User.id))
    dropped = uploads_service.store(upload, "proofs")
    db.session.rollback()
    assert uploads_service.path_of(kept).exists()
    assert not (uploads_service.path_of(kept).parent / dropped.split("/")[-1]).exists()
