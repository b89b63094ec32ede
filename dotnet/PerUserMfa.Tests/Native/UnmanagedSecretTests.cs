using System;
using System.Runtime.InteropServices;
using System.Security;
using PerUserMfa.Native;
using Xunit;

namespace PerUserMfa.Tests.Native
{
    public unsafe class UnmanagedSecretTests
    {
        private static SecureString Secure(string text)
        {
            var secure = new SecureString();
            foreach (var c in text)
            {
                secure.AppendChar(c);
            }

            secure.MakeReadOnly();
            return secure;
        }

        [Fact]
        public void Exposes_the_UTF16_code_units_and_their_count()
        {
            const string token = "eyJ0eXAi.zoë😀";
            using var secret = UnmanagedSecret.From(Secure(token));
            Assert.Equal(token.Length, secret.Length);
            for (var i = 0; i < token.Length; i++)
            {
                Assert.Equal(token[i], (char)secret.Chars[i]);
            }
        }

        [Fact]
        public void Dispose_wipes_the_memory_before_it_is_freed_and_frees_it_once()
        {
            const string token = "secret-token-value";
            var freed = 0;
            var wipedBeforeFree = false;
            var secret = UnmanagedSecret.From(Secure(token), memory =>
            {
                freed++;
                var chars = (ushort*)memory;
                wipedBeforeFree = true;
                for (var i = 0; i < token.Length; i++)
                {
                    wipedBeforeFree &= chars[i] == 0;
                }

                Marshal.ZeroFreeGlobalAllocUnicode(memory);
            });
            Assert.Equal('s', (char)secret.Chars[0]);

            secret.Dispose();
            secret.Dispose();

            Assert.Equal(1, freed);
            Assert.True(wipedBeforeFree);
            Assert.True(secret.Chars == null);
            Assert.Equal(0, secret.Length);
        }

        [Fact]
        public void Is_freed_when_the_call_using_it_throws()
        {
            var freed = 0;
            Assert.Throws<InvalidOperationException>((Action)(() =>
            {
                using var secret = UnmanagedSecret.From(Secure("t"), memory =>
                {
                    freed++;
                    Marshal.ZeroFreeGlobalAllocUnicode(memory);
                });
                throw new InvalidOperationException("native call failed");
            }));
            Assert.Equal(1, freed);
        }

        [Fact]
        public void Null_and_empty_secrets_allocate_nothing()
        {
            var freed = 0;
            using (var none = UnmanagedSecret.From(null, _ => freed++))
            {
                Assert.True(none.Chars == null);
                Assert.Equal(0, none.Length);
            }

            using (var empty = UnmanagedSecret.From(new SecureString(), _ => freed++))
            {
                Assert.True(empty.Chars == null);
            }

            Assert.Equal(0, freed);
        }
    }
}
