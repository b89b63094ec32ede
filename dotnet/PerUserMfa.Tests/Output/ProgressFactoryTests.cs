using System.Management.Automation;
using PerUserMfa.Engine;
using PerUserMfa.Output;
using Xunit;

namespace PerUserMfa.Tests.Output
{
    public class ProgressFactoryTests
    {
        [Fact]
        public void Maps_a_progress_event_with_a_known_total()
        {
            var r = ProgressFactory.Create(Progress(@"{""type"":""progress"",""activity"":""Reading per-user MFA states"",""completed"":120,""total"":1000,""ratePerSecond"":812.5,""secondsRemaining"":1,""status"":""120 of 1000 users, 812/s""}"));
            Assert.Equal(ProgressFactory.ActivityId, r.ActivityId);
            Assert.Equal("Reading per-user MFA states", r.Activity);
            Assert.Equal("120 of 1000 users, 812/s", r.StatusDescription);
            Assert.Equal(12, r.PercentComplete);
            Assert.Equal(1, r.SecondsRemaining);
            Assert.Equal(ProgressRecordType.Processing, r.RecordType);
        }

        [Fact]
        public void Leaves_percent_and_time_unset_while_the_total_is_unknown()
        {
            var r = ProgressFactory.Create(Progress(@"{""type"":""progress"",""activity"":""Listing users"",""completed"":500,""total"":null,""secondsRemaining"":null,""status"":""""}"));
            Assert.Equal(-1, r.PercentComplete);
            Assert.Equal(-1, r.SecondsRemaining);
            Assert.Equal("500 users", r.StatusDescription);
        }

        [Theory]
        [InlineData(1500, 1000, 100)]
        [InlineData(999, 1000, 99)]
        [InlineData(0, 0, -1)]
        public void Clamps_percent(long completed, long total, int expected)
        {
            var r = ProgressFactory.Create(Progress($"{{\"type\":\"progress\",\"activity\":\"a\",\"completed\":{completed},\"total\":{total},\"status\":\"s\"}}"));
            Assert.Equal(expected, r.PercentComplete);
        }

        [Fact]
        public void Falls_back_when_activity_or_status_is_missing()
        {
            var r = ProgressFactory.Create(Progress(@"{""type"":""progress""}"));
            Assert.Equal("PerUserMfa", r.Activity);
            Assert.Equal("Working", r.StatusDescription);
        }

        [Fact]
        public void Completed_record_ends_the_same_activity()
        {
            var r = ProgressFactory.Completed("Reading per-user MFA states");
            Assert.Equal(ProgressRecordType.Completed, r.RecordType);
            Assert.Equal(ProgressFactory.ActivityId, r.ActivityId);
            Assert.Equal("Reading per-user MFA states", r.Activity);
        }

        private static ProgressEvent Progress(string json) => ProgressEvent.From(EngineEvent.Parse(json));
    }
}
