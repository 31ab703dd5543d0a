package io.lowrank.spark.report;

import java.util.Base64;
import java.util.List;

/**
 * A self-contained HTML page: inline CSS, charts as base64 PNG {@code data:} URIs, no script and no
 * external resource, so it opens offline, from HDFS downloads and from e-mail attachments alike.
 */
public final class HtmlPage {
    private final StringBuilder body = new StringBuilder();
    private final String title;

    public HtmlPage(String title) {
        this.title = title;
    }

    public HtmlPage heading(int level, String text) {
        body.append("<h").append(level).append('>').append(esc(text)).append("</h").append(level).append(">\n");
        return this;
    }

    public HtmlPage paragraph(String text) {
        body.append("<p>").append(esc(text)).append("</p>\n");
        return this;
    }

    public HtmlPage image(String id, String alt, byte[] png, int width, int height) {
        body.append("<figure><img class=\"chart\" id=\"").append(esc(id)).append("\" alt=\"").append(esc(alt))
                .append("\" width=\"").append(width).append("\" height=\"").append(height)
                .append("\" src=\"data:image/png;base64,").append(Base64.getEncoder().encodeToString(png)).append("\"></figure>\n");
        return this;
    }

    /** A table whose cells are text; {@code collapsed}: inside a closed {@code <details>} with that summary. */
    public HtmlPage table(String id, List<String> header, List<List<String>> rows, String collapsed) {
        if (collapsed != null) body.append("<details><summary>").append(esc(collapsed)).append("</summary>\n");
        body.append("<table id=\"").append(esc(id)).append("\">\n<thead><tr>");
        for (String h : header) body.append("<th>").append(esc(h)).append("</th>");
        body.append("</tr></thead>\n<tbody>\n");
        for (List<String> r : rows) {
            body.append("<tr>");
            for (String c : r) body.append("<td>").append(esc(c)).append("</td>");
            body.append("</tr>\n");
        }
        body.append("</tbody></table>\n");
        if (collapsed != null) body.append("</details>\n");
        return this;
    }

    public String render() {
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(title) + "</title>\n"
                + "<style>body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}"
                + "th,td{border:1px solid #ccc;padding:2px 8px;text-align:right;font-variant-numeric:tabular-nums}"
                + "th{background:#f3f3f3}td:first-child{text-align:left}figure{margin:.5em 0}img.chart{border:1px solid #eee}"
                + "p.note{color:#555}</style>\n</head><body>\n<h1>" + esc(title) + "</h1>\n" + body + "</body></html>\n";
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
