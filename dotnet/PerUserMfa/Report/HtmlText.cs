using System.IO;
using System.Text;
using PerUserMfa.Json;

namespace PerUserMfa.Report
{
    /// <summary>
    /// Escaping for the three contexts the report writes values into. Every value from the input goes
    /// through one of these; nothing from the input is written raw.
    /// </summary>
    internal static class HtmlText
    {
        private static readonly char[] ScriptSpecials = { '<', '>', '&', '\u2028', '\u2029' };

        /// <summary>Text for element content or a quoted attribute value: escapes &amp; &lt; &gt; " and '.
        /// Control characters other than tab, CR and LF (not allowed in HTML) become U+FFFD.</summary>
        public static void Write(TextWriter writer, string? value)
        {
            if (string.IsNullOrEmpty(value))
            {
                return;
            }

            var start = 0;
            for (var i = 0; i < value!.Length; i++)
            {
                string? replacement;
                switch (value[i])
                {
                    case '&': replacement = "&amp;"; break;
                    case '<': replacement = "&lt;"; break;
                    case '>': replacement = "&gt;"; break;
                    case '"': replacement = "&quot;"; break;
                    case '\'': replacement = "&#39;"; break;
                    default:
                        var c = value[i];
                        replacement = (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == '\u007f' ? "\uFFFD" : null;
                        break;
                }

                if (replacement != null)
                {
                    if (i > start)
                    {
                        writer.Write(value.Substring(start, i - start));
                    }

                    writer.Write(replacement);
                    start = i + 1;
                }
            }

            if (start == 0)
            {
                writer.Write(value);
            }
            else if (start < value.Length)
            {
                writer.Write(value.Substring(start));
            }
        }

        /// <summary>The escaped text as a string (for tests and small pieces).</summary>
        public static string Escape(string? value)
        {
            var writer = new StringWriter();
            Write(writer, value);
            return writer.ToString();
        }

        /// <summary>
        /// Appends <paramref name="value"/> as a JSON string that is safe inside an HTML
        /// <c>&lt;script&gt;</c> element: JSON escaping (<see cref="JsonWriter.AppendString"/>) plus
        /// <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c>, U+2028 and U+2029 as \u escapes, so no value can
        /// close the element (<c>&lt;/script&gt;</c>), open a comment (<c>&lt;!--</c>) or end a JS line.
        /// </summary>
        public static void AppendScriptJsonString(StringBuilder builder, string value)
        {
            var start = builder.Length;
            JsonWriter.AppendString(builder, value);
            if (value.IndexOfAny(ScriptSpecials) < 0)
            {
                return;
            }

            for (var i = start; i < builder.Length; i++)
            {
                string? replacement;
                switch (builder[i])
                {
                    case '<': replacement = "\\u003c"; break;
                    case '>': replacement = "\\u003e"; break;
                    case '&': replacement = "\\u0026"; break;
                    case '\u2028': replacement = "\\u2028"; break;
                    case '\u2029': replacement = "\\u2029"; break;
                    default: replacement = null; break;
                }

                if (replacement != null)
                {
                    builder.Remove(i, 1).Insert(i, replacement);
                    i += replacement.Length - 1;
                }
            }
        }

        public static string ScriptJsonString(string value)
        {
            var builder = new StringBuilder();
            AppendScriptJsonString(builder, value);
            return builder.ToString();
        }
    }
}
