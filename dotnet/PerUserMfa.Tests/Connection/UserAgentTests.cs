using System.Text.RegularExpressions;
using PerUserMfa.Connection;
using Xunit;

namespace PerUserMfa.Tests.Connection
{
    public class UserAgentTests
    {
        [Fact]
        public void Has_the_contract_shape() =>
            Assert.Equal("PerUserMfa/0.1.0 (PowerShell 7.6.9; Linux)", UserAgent.Build("0.1.0", "7.6.9", "Linux"));

        [Fact]
        public void Module_version_comes_from_the_assembly_without_build_metadata()
        {
            var version = UserAgent.ModuleVersion();
            Assert.Matches(new Regex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"), version);
            Assert.DoesNotContain("+", version);
        }

        [Fact]
        public void Names_the_operating_system() =>
            Assert.Contains(UserAgent.OperatingSystemName(), new[] { "Windows", "Linux", "macOS" });
    }
}
