using System;
using System.Globalization;
using System.Management.Automation;

namespace PerUserMfa.Cmdlets
{
    /// <summary>
    /// Takes a <see cref="PerUserMfaState"/> by name only. PowerShell would turn <c>-State 2</c> into
    /// Enforced (the enum's value), which a script meaning "second option" or "true" could send to
    /// thousands of accounts; a number is refused with the names to use instead.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class StateNameAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            if (value is PerUserMfaState)
            {
                return value;
            }

            var isNumber = value switch
            {
                string text => long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
                null => false,
                _ => value.GetType().IsPrimitive || value is decimal,
            };
            if (isNumber)
            {
                throw new ArgumentTransformationMetadataException(
                    $"'{value}' is a number; give the state by name: Disabled, Enabled or Enforced.");
            }

            return inputData!;
        }
    }
}
