using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using PerUserMfa.Engine;
using Xunit;

namespace PerUserMfa.Tests.Engine
{
    /// <summary>
    /// The contract between the engine's events and the C# event types. The engine's test
    /// <c>events::contract</c> builds one event of every kind from the Rust types and checks that
    /// <c>docs/events/*.json</c> holds exactly those; this test reads every file through the C# types
    /// (<see cref="EventTypes.Readers"/>). A member renamed, added or dropped on either side, or sent
    /// with another JSON type than the C# side reads, fails here.
    /// </summary>
    public class EventContractTests
    {
        private const string Regenerate =
            "The fixtures are checked in under docs/events; the engine's test regenerates them: " +
            "PUMFA_UPDATE_EVENT_FIXTURES=1 cargo test -p perusermfa-engine --lib events::contract";

        [Fact]
        public void Every_event_kind_the_engine_sends_has_a_CSharp_type()
        {
            var missing = Fixtures().Select(f => f.Type).Where(type => !EventTypes.Readers.ContainsKey(type)).ToList();
            Assert.True(missing.Count == 0, $"The engine sends event kinds the module has no type for: {string.Join(", ", missing)}. Add them to EventTypes.cs.");
        }

        [Fact]
        public void Every_CSharp_event_type_has_an_engine_fixture()
        {
            var sent = new HashSet<string>(Fixtures().Select(f => f.Type), StringComparer.Ordinal);
            var unknown = EventTypes.Readers.Keys.Where(type => !sent.Contains(type)).ToList();
            Assert.True(unknown.Count == 0, $"The module reads event kinds the engine has no example of: {string.Join(", ", unknown)}. {Regenerate}");
        }

        [Fact]
        public void Every_fixture_reads_through_its_CSharp_type_member_for_member()
        {
            var problems = new List<string>();
            foreach (var fixture in Fixtures())
            {
                problems.AddRange(Check(fixture.Event).Select(p => $"{fixture.File}: {p}"));
            }

            Assert.True(problems.Count == 0, "The C# event types and the engine's events differ:\n" + string.Join("\n", problems));
        }

        [Fact]
        public void A_renamed_or_unread_member_is_reported()
        {
            // What the check reports when one side renames a member: the old name is missing, the new one unread.
            var renamed = EngineEvent.Parse(@"{""type"":""warning"",""text"":""The token lacks Policy.Read.All.""}");
            Assert.Equal(new[] { "'message' is missing", "'text' is sent but never read" }, Check(renamed));
        }

        /// <summary>What differs between an event and the C# type for its kind.</summary>
        private static List<string> Check(EngineEvent engineEvent)
        {
            var fields = EventFields.Checking(engineEvent.Fields);
            EventTypes.Readers[engineEvent.Type](fields);
            var problems = fields.Problems.ToList();
            problems.AddRange(engineEvent.Fields.Keys
                .Where(name => name != "type" && !fields.Read.Contains(name))
                .Select(name => $"'{name}' is sent but never read"));
            return problems;
        }

        private static List<(string File, string Type, EngineEvent Event)> Fixtures()
        {
            var folder = FixtureFolder();
            var files = Directory.GetFiles(folder, "*.json").OrderBy(f => f, StringComparer.Ordinal).ToList();
            Assert.True(files.Count > 0, $"No event fixtures in {folder}. {Regenerate}");
            return files.Select(file =>
            {
                var engineEvent = EngineEvent.Parse(File.ReadAllText(file));
                Assert.True(
                    Path.GetFileNameWithoutExtension(file) == engineEvent.Type,
                    $"{file} holds a '{engineEvent.Type}' event; each fixture is named after its type. {Regenerate}");
                return (Path.GetFileName(file), engineEvent.Type, engineEvent);
            }).ToList();
        }

        /// <summary><c>docs/events</c> of the repository the tests were built from.</summary>
        private static string FixtureFolder()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "rust", "engine", "Cargo.toml")))
                {
                    var folder = Path.Combine(dir.FullName, "docs", "events");
                    Assert.True(Directory.Exists(folder), $"{folder} is missing. {Regenerate}");
                    return folder;
                }
            }

            throw new InvalidOperationException($"The repository root (with rust/engine/Cargo.toml) was not found above {AppContext.BaseDirectory}. {Regenerate}");
        }
    }
}
