"""Excel in and out (openpyxl): the layouts staff exchange, read row by row with every problem
named by row and column in Chinese, and the user's own file handed back with those problems
marked, so they fix it where they typed it.

Reading is all-or-nothing by design: the caller imports only a sheet without a single error."""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

MAX_ROWS = 20_000  # a batch of hundreds, a registry of thousands: more is a wrong file, not a big batch
HEADER_SEARCH = 5  # the header may sit under a title line or two, as in the bureaus' own forms
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_COLUMN = "错误说明"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    required: bool = True
    kind: str = "text"  # text | date
    width: int = 16
    example: str = ""


@dataclass(frozen=True)
class RowError:
    row: int  # the row number Excel shows
    column: str  # the column's title, "" for the row as a whole
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


class SheetError(Exception):
    """The file cannot be read as the layout at all (not an .xlsx, no header row, too many rows)."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def template(columns: Sequence[Column], title: str) -> bytes:
    """An empty sheet in the layout, text-formatted so ID numbers keep every digit, with one
    example row the reader skips (its first cell says 示例)."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([c.title for c in columns])
    sheet.append([c.example for c in columns])
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        sheet.cell(1, index).font = Font(bold=True, color="C00000" if column.required else "000000")
        for row in range(2, 502):
            sheet.cell(row, index).number_format = "@"
    sheet.cell(2, 1).comment = Comment("示例行：导入时跳过，可删除", "系统")
    sheet.freeze_panes = "A2"
    return _save(book)


def read(content: bytes, columns: Sequence[Column]) -> tuple[list[tuple[int, dict]], list[RowError]]:
    """The data rows as (Excel row number, {key: value}) and the problems of reading them: a number
    where text belongs (an ID number Excel turned into a number has lost its last digits), a date
    that is not one. Raises SheetError when the file is not the layout at all."""
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise SheetError([RowError(0, "", "文件不是有效的 Excel（.xlsx）文件，请用模板填写后另存为 .xlsx")]) from error
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header_row, positions = _find_header(rows, columns)
        data, errors = [], []
        for number, values in enumerate(rows, start=header_row + 1):
            if number - header_row > MAX_ROWS:
                raise SheetError([RowError(number, "", f"一次最多导入{MAX_ROWS}行，请分批导入")])
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            first = values[positions[columns[0].key]] if positions[columns[0].key] < len(values) else None
            if str(first or "").strip().startswith("示例"):
                continue
            record = {}
            for column in columns:
                position = positions.get(column.key)
                value = values[position] if position is not None and position < len(values) else None
                record[column.key], problem = _cell(value, column)
                if problem:
                    errors.append(RowError(number, column.title, problem))
            data.append((number, record))
        return data, errors
    finally:
        book.close()


def _find_header(rows, columns: Sequence[Column]) -> tuple[int, dict[str, int]]:
    titles = {c.title: c.key for c in columns}
    for number in range(1, HEADER_SEARCH + 1):
        values = next(rows, None)
        if values is None:
            break
        found = {titles[str(v).strip()]: i for i, v in enumerate(values) if v is not None and str(v).strip() in titles}
        if found:
            missing = [c.title for c in columns if c.required and c.key not in found]
            if missing:
                raise SheetError([RowError(number, title, f"缺少“{title}”列，请使用下载的模板") for title in missing])
            return number, found
    raise SheetError([RowError(1, "", "未找到表头（前5行中没有模板的列名），请使用下载的模板")])


def _cell(value, column: Column) -> tuple[object, str]:
    if value is None:
        return ("" if column.kind == "text" else None), ""
    if column.kind == "date":
        if isinstance(value, datetime):
            return value.date(), ""
        if isinstance(value, date):
            return value, ""
        text = str(value).strip().replace("/", "-").replace(".", "-")
        try:
            return date.fromisoformat(text), ""
        except ValueError:
            return None, f"日期“{value}”无法识别，请填写如 2027-06-30"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Excel keeps 15 significant digits: an 18-digit ID number typed as a number has lost its end
        if abs(value) >= 1e15:
            return "", "此格被 Excel 存成了数字，长号码已丢失末位：请把该列设为“文本”格式后重新填写"
        return (str(int(value)) if float(value).is_integer() else str(value)), ""
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d"), ""
    return str(value).strip(), ""


def annotated(content: bytes, errors: Iterable[RowError], columns: Sequence[Column]) -> bytes:
    """The user's own file with each problem's cell filled red and commented, and a last column
    saying what is wrong on each row: what they fix, where they typed it."""
    book = load_workbook(io.BytesIO(content))
    sheet = book.worksheets[0]
    header_row, by_title = 1, {}
    for number in range(1, HEADER_SEARCH + 1):
        cells = {str(c.value).strip(): c.column for c in sheet[number] if c.value is not None}
        if any(c.title in cells for c in columns):
            header_row, by_title = number, cells
            break
    note_column = (max(by_title.values()) + 1) if by_title else sheet.max_column + 1
    sheet.cell(header_row, note_column, ERROR_COLUMN).font = Font(bold=True, color="C00000")
    sheet.column_dimensions[get_column_letter(note_column)].width = 60
    notes: dict[int, list[str]] = {}
    for error in errors:
        notes.setdefault(error.row, []).append(f"{error.column}：{error.message}" if error.column else error.message)
        position = by_title.get(error.column)
        if error.row and position:
            cell = sheet.cell(error.row, position)
            cell.fill = ERROR_FILL
            cell.comment = Comment(error.message, "系统")
    for row, messages in notes.items():
        if row:
            sheet.cell(row, note_column, "；".join(messages)).font = Font(color="C00000")
    return _save(book)


def write(columns: Sequence[Column], rows: Iterable[Sequence], title: str) -> bytes:
    """A list as a sheet with Chinese column names; write-only, so a long list does not build the
    whole workbook in memory first."""
    return write_tables([(title, columns, rows)])


def write_tables(tables: Iterable[tuple[str, Sequence[Column], Iterable[Sequence]]]) -> bytes:
    """Tables a sheet each (a statistics page's tables in one file)."""
    book = Workbook(write_only=True)
    for title, columns, rows in tables:
        sheet = book.create_sheet(title[:31])
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        sheet.append([c.title for c in columns])
        for row in rows:
            sheet.append(list(row))
    return _save(book)


def _save(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
