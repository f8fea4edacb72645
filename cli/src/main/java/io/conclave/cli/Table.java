package io.conclave.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * An aligned text table: columns padded to their widest cell, two spaces apart, no trailing
 * spaces. Cells may carry an ANSI colour; widths count only the visible text.
 */
public final class Table {
  private static final String GAP = "  ";

  private final List<String> headers;
  private final List<Cell[]> rows = new ArrayList<>();

  /** One cell: its text and an optional ANSI code (null: plain). */
  public record Cell(String text, String ansi) {
    public static Cell of(Object value) {
      return new Cell(value == null ? "" : String.valueOf(value), null);
    }
  }

  public Table(List<String> headers) {
    this.headers = List.copyOf(headers);
  }

  /** Adds a row of plain cells, or {@link Cell}s. */
  public Table row(Object... values) {
    if (values.length != headers.size()) {
      throw new IllegalArgumentException("row has " + values.length + " cells, table has " + headers.size() + " columns");
    }
    Cell[] cells = new Cell[values.length];
    for (int i = 0; i < values.length; i++) {
      cells[i] = values[i] instanceof Cell ? (Cell) values[i] : Cell.of(values[i]);
    }
    rows.add(cells);
    return this;
  }

  public void print(PrintWriter out) {
    int[] widths = new int[headers.size()];
    for (int i = 0; i < widths.length; i++) {
      widths[i] = headers.get(i).length();
      for (Cell[] row : rows) {
        widths[i] = Math.max(widths[i], row[i].text().length());
      }
    }
    Cell[] header = headers.stream().map(Cell::of).toArray(Cell[]::new);
    printRow(out, header, widths);
    for (Cell[] row : rows) {
      printRow(out, row, widths);
    }
    out.flush();
  }

  private static void printRow(PrintWriter out, Cell[] cells, int[] widths) {
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < cells.length; i++) {
      Cell cell = cells[i];
      line.append(cell.ansi() == null ? cell.text() : cell.ansi() + cell.text() + Style.RESET);
      if (i < cells.length - 1) {
        line.append(" ".repeat(widths[i] - cell.text().length())).append(GAP);
      }
    }
    out.println(stripTrailing(line));
  }

  private static String stripTrailing(StringBuilder line) {
    int end = line.length();
    while (end > 0 && line.charAt(end - 1) == ' ') {
      end--;
    }
    return line.substring(0, end);
  }
}
