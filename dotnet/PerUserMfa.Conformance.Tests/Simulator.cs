using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PerUserMfa.Conformance.Tests
{
    /// <summary>
    /// One graph-sim process for a test class: started on a free port, stopped with
    /// <c>POST /_sim/shutdown</c> (killed if it does not exit). The binary comes from
    /// <c>PUMFA_TEST_SIMULATOR</c> (as the Pester suite takes it), else from the repository's
    /// <c>target/debug</c> or <c>target/release</c>.
    /// </summary>
    public sealed class Simulator : IDisposable
    {
        public const string SimulatorVariable = "PUMFA_TEST_SIMULATOR";

        private readonly Process _process;
        private readonly HttpClient _http = new();

        public Simulator(int users, int seed, params string[] extraArguments)
        {
            var path = FindBinary();
            var start = new ProcessStartInfo(path)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "--port", "0", "--users", $"{users}", "--seed", $"{seed}" }.Concat(extraArguments))
            {
                start.ArgumentList.Add(argument);
            }
            _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {path}.");
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginErrorReadLine();
            var line = _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult()
                ?? throw new InvalidOperationException("graph-sim exited before it was listening.");
            using var ready = JsonDocument.Parse(line);
            Url = ready.RootElement.GetProperty("url").GetString()!;
            _http.BaseAddress = new Uri(Url);
        }

        /// <summary><c>http://127.0.0.1:PORT</c>.</summary>
        public string Url { get; }

        /// <summary>An app token with these application permissions.</summary>
        public string Token(params string[] roles)
        {
            var answer = _http.PostAsJsonAsync("/_sim/token", new { roles }).GetAwaiter().GetResult();
            answer.EnsureSuccessStatusCode();
            var body = answer.Content.ReadFromJsonAsync<JsonObject>().GetAwaiter().GetResult()!;
            return body["access_token"]!.GetValue<string>();
        }

        /// <summary>Every user with the ground truth (<c>GET /_sim/users</c>).</summary>
        public JsonArray Truth() => Get("/_sim/users").AsArray();

        public JsonObject Stats() => Get("/_sim/stats").AsObject();

        /// <summary>Changes runtime settings (<c>POST /_sim/config</c>).</summary>
        public void Configure(object settings)
        {
            var answer = _http.PostAsJsonAsync("/_sim/config", settings).GetAwaiter().GetResult();
            answer.EnsureSuccessStatusCode();
        }

        public void ResetStats() => _http.PostAsync("/_sim/stats/reset", null).GetAwaiter().GetResult().EnsureSuccessStatusCode();

        private JsonNode Get(string path) =>
            JsonNode.Parse(_http.GetStringAsync(path).GetAwaiter().GetResult())!;

        public void Dispose()
        {
            try
            {
                _http.PostAsync("/_sim/shutdown", null).Wait(TimeSpan.FromSeconds(5));
                if (!_process.WaitForExit(5000))
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            catch (Exception) when (_process.HasExited)
            {
            }
            finally
            {
                _process.Dispose();
                _http.Dispose();
            }
        }

        private static string FindBinary()
        {
            var name = OperatingSystem.IsWindows() ? "graph-sim.exe" : "graph-sim";
            var configured = Environment.GetEnvironmentVariable(SimulatorVariable);
            if (!string.IsNullOrWhiteSpace(configured))
            {
                return File.Exists(configured)
                    ? configured
                    : throw new FileNotFoundException($"{SimulatorVariable} names '{configured}', which does not exist.");
            }
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                foreach (var profile in new[] { "debug", "release" })
                {
                    var candidate = Path.Combine(dir.FullName, "target", profile, name);
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                }
            }
            throw new FileNotFoundException(
                $"No graph-sim binary: build it (cargo build -p graph-sim) or set {SimulatorVariable} to its path.");
        }
    }
}
