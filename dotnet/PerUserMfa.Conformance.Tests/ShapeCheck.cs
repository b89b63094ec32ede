using System.Collections;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Kiota.Abstractions.Serialization;

namespace PerUserMfa.Conformance.Tests
{
    /// <summary>
    /// Compares what the simulator sent with what the SDK made of it: every JSON property must land
    /// in a typed property (nothing in <c>AdditionalData</c> but <c>@odata.context</c>), and every
    /// non-null value must come out non-null (a value the SDK cannot read — a string where it wants
    /// a date, an enum member the schema does not have — comes out null).
    /// </summary>
    public static class ShapeCheck
    {
        /// <summary>Parses <paramref name="json"/> the way the SDK parses a response, then checks it.</summary>
        public static async Task<T> ReadAsync<T>(string json, ParsableFactory<T> factory)
            where T : IParsable
        {
            var model = await KiotaJsonSerializer.DeserializeAsync(json, factory)
                ?? throw new InvalidOperationException("The SDK read nothing.");
            AssertReadable(json, model);
            return model;
        }

        public static void AssertReadable(string json, object model)
        {
            using var document = JsonDocument.Parse(json);
            var problems = new List<string>();
            Compare(document.RootElement, model, "$", problems);
            Assert.True(problems.Count == 0, $"The SDK could not read {problems.Count} value(s):\n{string.Join("\n", problems.Take(20))}");
        }

        public static void AssertReadable(JsonElement raw, object model)
        {
            var problems = new List<string>();
            Compare(raw, model, "$", problems);
            Assert.True(problems.Count == 0, $"The SDK could not read {problems.Count} value(s):\n{string.Join("\n", problems.Take(20))}");
        }

        private static void Compare(JsonElement raw, object? model, string path, List<string> problems)
        {
            if (raw.ValueKind == JsonValueKind.Null)
            {
                return;
            }
            if (model is null)
            {
                problems.Add($"{path}: {Shorten(raw.GetRawText())} came out null");
                return;
            }
            switch (raw.ValueKind)
            {
                case JsonValueKind.Object when model is IParsable:
                    CompareObject(raw, model, path, problems);
                    break;
                case JsonValueKind.Object:
                    problems.Add($"{path}: an object, read as {model.GetType().Name}");
                    break;
                case JsonValueKind.Array when model is IEnumerable && model is not string:
                    var read = ((IEnumerable)model).Cast<object?>().ToList();
                    var sent = raw.EnumerateArray().ToList();
                    if (read.Count != sent.Count)
                    {
                        problems.Add($"{path}: {sent.Count} items sent, {read.Count} read");
                        return;
                    }
                    for (var i = 0; i < sent.Count; i++)
                    {
                        Compare(sent[i], read[i], $"{path}[{i}]", problems);
                    }
                    break;
                case JsonValueKind.Array:
                    problems.Add($"{path}: an array, read as {model.GetType().Name}");
                    break;
                default:
                    // A primitive the SDK read as something non-null: the typed property exists and parsed.
                    break;
            }
        }

        private static void CompareObject(JsonElement raw, object model, string path, List<string> problems)
        {
            if (model is IAdditionalDataHolder holder)
            {
                foreach (var key in holder.AdditionalData.Keys.Where(key => key != "@odata.context"))
                {
                    problems.Add($"{path}.{key}: not a property of {model.GetType().FullName} (it went to AdditionalData)");
                }
            }
            var properties = model.GetType()
                .GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetIndexParameters().Length == 0)
                .ToDictionary(p => Normalize(p.Name), StringComparer.OrdinalIgnoreCase);
            foreach (var member in raw.EnumerateObject())
            {
                if (member.Name.StartsWith("@odata.", StringComparison.Ordinal))
                {
                    if (member.Name == "@odata.type" && properties.TryGetValue("odatatype", out var typeProperty))
                    {
                        var declared = typeProperty.GetValue(model) as string;
                        if (declared != member.Value.GetString())
                        {
                            problems.Add($"{path}: @odata.type {member.Value} read as {declared ?? "null"}");
                        }
                        var expected = member.Value.GetString()!.Split('.').Last();
                        if (!string.Equals(model.GetType().Name, expected, StringComparison.OrdinalIgnoreCase))
                        {
                            problems.Add($"{path}: @odata.type {member.Value} became a {model.GetType().Name}");
                        }
                    }
                    continue;
                }
                if (properties.TryGetValue(Normalize(member.Name), out var property))
                {
                    Compare(member.Value, property.GetValue(model), $"{path}.{member.Name}", problems);
                }
                else if (model is not IAdditionalDataHolder)
                {
                    problems.Add($"{path}.{member.Name}: {model.GetType().Name} has no such property");
                }
            }
        }

        private static string Normalize(string name)
        {
            var builder = new StringBuilder(name.Length);
            foreach (var c in name.Where(c => c != '_'))
            {
                builder.Append(char.ToLowerInvariant(c));
            }
            return builder.ToString();
        }

        private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
    }
}
