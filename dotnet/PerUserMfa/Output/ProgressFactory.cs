using System;
using System.Globalization;
using System.Management.Automation;
using PerUserMfa.Engine;

namespace PerUserMfa.Output
{
    /// <summary><c>progress</c> events as <see cref="ProgressRecord"/>s, all under one activity id.</summary>
    internal static class ProgressFactory
    {
        /// <summary>The activity id of every PerUserMfa progress bar ("PMF").</summary>
        public const int ActivityId = 0x504D46;

        public const string DefaultActivity = "PerUserMfa";

        /// <summary>The activity text of an event (ProgressRecord refuses an empty one).</summary>
        public static string ActivityOf(ProgressEvent progress)
        {
            var activity = progress.Activity;
            return string.IsNullOrWhiteSpace(activity) ? DefaultActivity : activity!;
        }

        public static ProgressRecord Create(ProgressEvent progress)
        {
            var completed = progress.Completed;
            var total = progress.Total;
            var status = progress.Status;
            if (string.IsNullOrWhiteSpace(status))
            {
                status = completed.HasValue
                    ? string.Format(CultureInfo.InvariantCulture, total.HasValue ? "{0} of {1} users" : "{0} users", completed.Value, total)
                    : "Working";
            }

            var record = new ProgressRecord(ActivityId, ActivityOf(progress), status);
            if (completed.HasValue && total.HasValue && total.Value > 0)
            {
                var percent = completed.Value * 100.0 / total.Value;
                record.PercentComplete = (int)Math.Max(0, Math.Min(100, Math.Floor(percent)));
            }

            var secondsRemaining = progress.SecondsRemaining;
            if (secondsRemaining.HasValue && secondsRemaining.Value >= 0)
            {
                record.SecondsRemaining = (int)Math.Min(int.MaxValue, secondsRemaining.Value);
            }

            return record;
        }

        /// <summary>The record that removes the progress bar when the job ends.</summary>
        public static ProgressRecord Completed(string activity) =>
            new ProgressRecord(ActivityId, string.IsNullOrWhiteSpace(activity) ? DefaultActivity : activity, "Completed")
            {
                RecordType = ProgressRecordType.Completed,
            };
    }
}
